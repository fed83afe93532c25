// The multi-process cluster on loopback, run as a user runs it: `alisa cluster up` starts a
// coordinator, workers and memory nodes as processes; `alisa submit` clients talk to it over
// CAF's network layer. Every wait is bounded; every process is stopped (or killed) at the end.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/cluster_process.hpp"

namespace alisa::testing {
namespace {

using namespace std::chrono_literals;

const std::vector<std::string> kPrompts = {"Once upon a time", "The cat", "Lily went to the park"};


TEST(cluster, two_workers_two_memory_nodes_give_the_engines_greedy_text) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  // A small device pool and forced phase II: every complete block lives on the memory nodes.
  cluster c(base_port(0), concat(model_flags(), {"--workers", "2", "--memory-nodes", "2",
                                                 "--device-kv-budget", "256KiB",
                                                 "--host-kv-budget", "4MiB", "--force-phase", "2"}));
  ASSERT_TRUE(c.ready()) << c.process().err();
  for (const auto& prompt : kPrompts) {
    auto s = run_submit(c.coordinator(), prompt, 150);
    ASSERT_EQ(s.exit_code, 0) << s.err;
    EXPECT_EQ(s.result["text"], engine_text(prompt, 150)) << prompt;
    EXPECT_GT(s.result["memory_nodes_peak_bytes"].get<uint64_t>(), 0u)
        << "the memory nodes held none of the KV: " << s.result.dump();
  }
  EXPECT_EQ(c.stop(), 0) << c.process().err();
}


std::vector<std::string> distinct_prompts(int n) {
  const char* names[] = {"Lily", "Tom", "Sue", "Ben", "Max", "Mia", "Sam", "Anna"};
  const char* starts[] = {"Once upon a time, ", "One day, ", "", "Yesterday "};
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back(std::string(starts[i % 4]) + names[(i / 4) % 8] + " went to the park");
  return out;
}

TEST(cluster, thirty_two_concurrent_clients_each_get_their_own_text) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  cluster c(base_port(1), concat(model_flags(), {"--workers", "2", "--memory-nodes", "0"}));
  ASSERT_TRUE(c.ready()) << c.process().err();
  const auto prompts = distinct_prompts(32);
  std::vector<std::unique_ptr<child_process>> clients;
  for (const auto& prompt : prompts)
    clients.push_back(std::make_unique<child_process>(std::vector<std::string>{
        "submit", "--coordinator", c.coordinator(), "--prompt", prompt, "--max-tokens", "40",
        "--json"}));
  auto engine = open_stories_engine();
  ASSERT_NE(engine, nullptr);
  for (size_t i = 0; i < prompts.size(); ++i) {
    ASSERT_EQ(clients[i]->wait(240s), 0) << prompts[i] << ": " << clients[i]->err();
    auto result = nlohmann::json::parse(clients[i]->out(), nullptr, false);
    sampling_params p;
    p.max_tokens = 40;
    const auto expected = engine->generate(*engine->encode_prompt(prompts[i]), p);
    EXPECT_EQ(result["text"], expected.text) << prompts[i];
    EXPECT_EQ(result["token_ids"].get<std::vector<int>>(), expected.token_ids) << prompts[i];
  }
  EXPECT_EQ(c.stop(), 0) << c.process().err();
}

TEST(cluster, a_full_queue_is_a_clear_rejection_not_a_hang) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  cluster c(base_port(2), concat(model_flags(), {"--workers", "1", "--memory-nodes", "0",
                                                 "--max-queued", "1", "--max-running", "1"}));
  ASSERT_TRUE(c.ready()) << c.process().err();
  std::vector<std::unique_ptr<child_process>> clients;
  for (int i = 0; i < 6; ++i)
    clients.push_back(std::make_unique<child_process>(std::vector<std::string>{
        "submit", "--coordinator", c.coordinator(), "--prompt", "Once upon a time",
        "--max-tokens", "400", "--ignore-eos", "--json"}));
  int finished = 0, rejected = 0;
  for (auto& client : clients) {
    const auto code = client->wait(240s);
    ASSERT_TRUE(code.has_value()) << "a client hung";
    if (*code == 0) {
      ++finished;
    } else if (*code == 1 && client->err().find("queue full") != std::string::npos) {
      ++rejected;
    } else {
      ADD_FAILURE() << "a client neither finished nor was rejected as queue full: exit " << *code
                    << ", stderr: " << client->err();
    }
  }
  EXPECT_GE(finished, 1);
  EXPECT_GE(rejected, 1) << "six 400-token jobs against one running slot and one queue place";
  EXPECT_EQ(finished + rejected, 6);
  EXPECT_EQ(c.stop(), 0) << c.process().err();
}

TEST(cluster, a_context_larger_than_one_memory_node_spreads_over_two) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  // 445 tokens x 5 layers x (K 128 B + V 128 B) is about 560 KB of blocks, of which the device
  // pool keeps the newest: about 400 KB go to the memory nodes, more than one node's 256 KiB.
  cluster c(base_port(3), concat(model_flags(), {"--workers", "1", "--memory-nodes", "2",
                                                 "--device-kv-budget", "256KiB",
                                                 "--host-kv-budget", "256KiB",
                                                 "--force-phase", "2"}));
  ASSERT_TRUE(c.ready()) << c.process().err();
  auto s = run_submit(c.coordinator(), "Once upon a time", 440, {"--ignore-eos"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  auto engine = open_stories_engine();
  sampling_params p;
  p.max_tokens = 440;
  p.ignore_eos = true;
  EXPECT_EQ(s.result["text"], engine->generate(*engine->encode_prompt("Once upon a time"), p).text);
  const auto per_node = s.result["memory_node_peak_bytes"].get<std::vector<uint64_t>>();
  ASSERT_EQ(per_node.size(), 2u) << s.result.dump();
  std::printf("per memory node peak bytes: %llu, %llu (budget 262144 each)\n",
              static_cast<unsigned long long>(per_node[0]),
              static_cast<unsigned long long>(per_node[1]));
  EXPECT_GT(per_node[0], 0u);
  EXPECT_GT(per_node[1], 0u);
  EXPECT_GT(per_node[0] + per_node[1], 262144u) << "the context fits one node: the test proves nothing";
  EXPECT_EQ(c.stop(), 0) << c.process().err();
}

// Starts a streaming client and waits until `min_chars` of its text have arrived: the job is
// running (and, for a long wait, has offloaded blocks).
std::unique_ptr<child_process> start_streaming(const std::string& coordinator,
                                               const std::string& prompt, int max_tokens,
                                               size_t min_chars = 20) {
  auto client = std::make_unique<child_process>(std::vector<std::string>{
      "submit", "--coordinator", coordinator, "--prompt", prompt, "--max-tokens",
      std::to_string(max_tokens), "--ignore-eos"});
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline && client->running() &&
         client->out().size() < prompt.size() + min_chars)
    std::this_thread::sleep_for(5ms);
  return client;
}

std::string expected_stream(const std::string& prompt, int max_tokens) {
  auto engine = open_stories_engine();
  sampling_params p;
  p.max_tokens = max_tokens;
  p.ignore_eos = true;
  return prompt + engine->generate(*engine->encode_prompt(prompt), p).text + "\n";
}

// The README cluster's budgets: each worker's 256 KiB device pool holds the open blocks of three
// sequences, so of 64 concurrent jobs most wait inside the workers' step loops (admission against
// the device pool); every one completes with the text it gets alone.
TEST(cluster, sixty_four_concurrent_jobs_on_the_readme_budgets_all_complete) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  cluster c(base_port(11), concat(model_flags(), {"--workers", "2", "--memory-nodes", "2",
                                                  "--device-kv-budget", "256KiB",
                                                  "--host-kv-budget", "64MiB"}));
  ASSERT_TRUE(c.ready()) << c.process().err();
  const auto prompts = distinct_prompts(64);
  std::vector<std::unique_ptr<child_process>> clients;
  for (const auto& prompt : prompts)
    clients.push_back(std::make_unique<child_process>(std::vector<std::string>{
        "submit", "--coordinator", c.coordinator(), "--prompt", prompt, "--max-tokens", "30",
        "--json"}));
  auto engine = open_stories_engine();
  ASSERT_NE(engine, nullptr);
  int completed = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const std::optional<int> rc = clients[i]->wait(300s);
    EXPECT_EQ(rc, 0) << prompts[i] << ": " << clients[i]->err();
    if (rc != 0) continue;
    ++completed;
    auto result = nlohmann::json::parse(clients[i]->out(), nullptr, false);
    sampling_params p;
    p.max_tokens = 30;
    EXPECT_EQ(result["text"], engine->generate(*engine->encode_prompt(prompts[i]), p).text)
        << prompts[i];
  }
  EXPECT_EQ(completed, 64);
  EXPECT_EQ(c.stop(), 0) << c.process().err();
}

// A worker killed while 8 jobs run (4 on each): all 8 complete, with their fault-free text.
TEST(cluster, a_worker_killed_with_eight_jobs_running_loses_none) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  cluster c(base_port(12), concat(model_flags(), {"--workers", "2", "--memory-nodes", "0",
                                                  "--threads", "1"}));
  ASSERT_TRUE(c.ready()) << c.process().err();
  const auto prompts = distinct_prompts(8);
  std::vector<std::unique_ptr<child_process>> clients;
  // All eight start before any is waited on, so they run together on the two workers.
  for (const auto& prompt : prompts)
    clients.push_back(std::make_unique<child_process>(std::vector<std::string>{
        "submit", "--coordinator", c.coordinator(), "--prompt", prompt, "--max-tokens", "480",
        "--ignore-eos"}));
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (size_t i = 0; i < clients.size(); ++i)
    while (std::chrono::steady_clock::now() < deadline && clients[i]->running() &&
           clients[i]->out().size() < prompts[i].size() + 2)
      std::this_thread::sleep_for(5ms);
  for (const auto& client : clients) ASSERT_TRUE(client->running()) << "a job ended before the fault";
  ::kill(c.pid_of("worker", 0), SIGKILL);
  for (size_t i = 0; i < prompts.size(); ++i) {
    ASSERT_EQ(clients[i]->wait(240s), 0) << prompts[i] << ": " << clients[i]->err();
    EXPECT_EQ(clients[i]->out(), expected_stream(prompts[i], 480)) << prompts[i];
  }
  EXPECT_GE(cluster_status(c.coordinator()).value("restarts", 0), 1);
  EXPECT_EQ(c.stop(), 0) << c.process().err();
}

// "recomputed N" from a streaming client's summary line.
long long recomputed_rows(const std::string& err) {
  std::smatch m;
  if (!std::regex_search(err, m, std::regex("([0-9]+) KV rows recomputed"))) return -1;
  return std::stoll(m[1]);
}

// Kills memory node 0 once the 440-token job has blocks on the memory nodes; the job must finish
// with the fault-free text. Returns the seconds from the kill to the job's end.
double kill_memory_node_mid_job(cluster& c, std::unique_ptr<child_process>& client,
                                uint64_t min_bytes_on_memory_nodes) {
  const std::string prompt = "Once upon a time";
  client = start_streaming(c.coordinator(), prompt, 440);
  // Kill as soon as the memory nodes hold that much of the job's KV: most of the job is still
  // ahead, however loaded the machine is.
  for (int i = 0; i < 600 && client->running(); ++i)
    if (cluster_status(c.coordinator()).value("memory_bytes_used", uint64_t{0}) >=
        min_bytes_on_memory_nodes)
      break;
  EXPECT_TRUE(client->running()) << "the job ended before the fault: " << client->err();
  const auto killed_at = std::chrono::steady_clock::now();
  EXPECT_GT(c.pid_of("memory", 0), 0) << c.process().out();
  ::kill(c.pid_of("memory", 0), SIGKILL);
  EXPECT_EQ(client->wait(180s), 0) << client->err();
  EXPECT_EQ(client->out(), expected_stream(prompt, 440));
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
}

struct memory_kill {
  double recovery_s = 0;
  long long recomputed = -1;
  int restarts = -1;
};

// One cluster (1 worker, 2 memory nodes, `extra` flags), one 440-token job, memory node 0 killed
// once the nodes hold `min_bytes` of it. The output must be the fault-free text whatever happens;
// whether the kill hit the job's KV is for the caller to judge (a loaded machine may finish the
// job before the kill lands: then the caller tries again).
memory_kill kill_a_memory_node(int port, const std::vector<std::string>& extra, uint64_t min_bytes) {
  cluster c(port, concat(model_flags(), concat({"--workers", "1", "--memory-nodes", "2",
                                                "--device-kv-budget", "256KiB",
                                                "--host-kv-budget", "4MiB", "--threads", "1"},
                                               extra)));
  memory_kill k;
  EXPECT_TRUE(c.ready()) << c.process().err();
  if (!c.ready()) return k;
  std::unique_ptr<child_process> client;
  k.recovery_s = kill_memory_node_mid_job(c, client, min_bytes);
  const auto status = cluster_status(c.coordinator());
  k.recomputed = recomputed_rows(client->err());
  k.restarts = status.value("restarts", -1);
  EXPECT_EQ(status.value("memory_nodes", -1), 1);
  EXPECT_EQ(c.stop(), 0) << c.process().err();
  return k;
}

TEST(cluster, a_memory_node_killed_mid_job_has_its_blocks_recomputed) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  // The cost model's phase II keeps every offloaded block's hidden states, one node away from
  // the block's K/V (spread_block_store): the lost blocks are recomputed in place. The hidden
  // states of every completed block go out at once; K/V follow once the device's share (two
  // blocks per layer) is full, from token 192. 400 KB: hidden states of four blocks per layer and
  // K/V of the first (each block of a layer: 16 KiB of hidden, 16 KiB of K+V).
  memory_kill k;
  for (int attempt = 0; attempt < 3 && k.recomputed <= 0 && !HasFailure(); ++attempt) {
    k = kill_a_memory_node(base_port(4), {}, 400'000);
    std::printf("memory node SIGKILL (hidden states kept): job finished %.2f s after the kill, "
                "%lld KV rows recomputed, %d restarts\n",
                k.recovery_s, k.recomputed, k.restarts);
  }
  EXPECT_GT(k.recomputed, 0) << "in three tries the kill never hit the job's KV";
  EXPECT_EQ(k.restarts, 0) << "recompute, not re-prefill, should have recovered";
}

TEST(cluster, a_memory_node_killed_mid_job_without_hidden_states_reprefills) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  // Forced phase II keeps no hidden states: the lost blocks cannot be recomputed alone, so the
  // job restarts from its prompt on the surviving tiers and the client sees no seam. K/V of all
  // but each layer's newest block go out: block 0 (16 KiB per layer, to the first node) from
  // token 128, block 1 (to the second) from token 192. Past 100 KB both nodes hold some.
  memory_kill k;
  for (int attempt = 0; attempt < 3 && k.restarts < 1 && !HasFailure(); ++attempt) {
    k = kill_a_memory_node(base_port(9), {"--force-phase", "2"}, 100'000);
    std::printf("memory node SIGKILL (no hidden states): job finished %.2f s after the kill, "
                "%d restarts (re-prefill)\n",
                k.recovery_s, k.restarts);
  }
  EXPECT_GE(k.restarts, 1) << "in three tries the kill never hit the job's KV";
}

TEST(cluster, a_worker_killed_mid_job_restarts_its_jobs_elsewhere) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  cluster c(base_port(5), concat(model_flags(), {"--workers", "2", "--memory-nodes", "0",
                                                 "--threads", "1"}));
  ASSERT_TRUE(c.ready()) << c.process().err();
  // Two jobs: the least-loaded placement puts one on each worker.
  const std::vector<std::string> prompts = {"Once upon a time", "The cat"};
  auto first = start_streaming(c.coordinator(), prompts[0], 440);
  auto second = start_streaming(c.coordinator(), prompts[1], 440);
  ASSERT_TRUE(first->running() && second->running()) << "a job ended before the fault";
  const auto killed_at = std::chrono::steady_clock::now();
  ::kill(c.pid_of("worker", 0), SIGKILL);
  ASSERT_EQ(first->wait(180s), 0) << first->err();
  ASSERT_EQ(second->wait(180s), 0) << second->err();
  const double recovery_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  EXPECT_EQ(first->out(), expected_stream(prompts[0], 440));
  EXPECT_EQ(second->out(), expected_stream(prompts[1], 440));
  const auto status = cluster_status(c.coordinator());
  std::printf("worker SIGKILL: both jobs finished %.2f s after the kill; jobs restarted: %s\n",
              recovery_s, status.value("restarts", nlohmann::json(-1)).dump().c_str());
  EXPECT_EQ(status.value("workers", -1), 1);
  EXPECT_GE(status.value("restarts", 0), 1);
  EXPECT_EQ(c.stop(), 0) << c.process().err();
}

// The only worker killed mid-job: nobody can run the job, so after --no-worker-timeout its client
// gets an error saying so instead of waiting forever.
TEST(cluster, killing_the_only_worker_fails_its_client_within_the_no_worker_timeout) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  cluster c(base_port(16), concat(model_flags(), {"--workers", "1", "--memory-nodes", "0",
                                                  "--threads", "1", "--no-worker-timeout", "2"}));
  ASSERT_TRUE(c.ready()) << c.process().err();
  auto job = start_streaming(c.coordinator(), "Once upon a time", 440);
  ASSERT_TRUE(job->running()) << "the job ended before the fault";
  ::kill(c.pid_of("worker", 0), SIGKILL);
  const auto killed_at = std::chrono::steady_clock::now();
  EXPECT_EQ(job->wait(60s), 1) << job->err();
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  EXPECT_NE(job->err().find("no worker has been available for 2 s (--no-worker-timeout)"),
            std::string::npos)
      << job->err();
  EXPECT_LT(waited, 10.0);
  std::printf("only worker SIGKILL: client failed %.2f s after the kill\n", waited);
  EXPECT_EQ(c.stop(), 0) << c.process().err();
}

TEST(cluster, a_dead_workers_kv_is_erased_from_the_memory_nodes) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  // 512 KiB: room on one worker's device for both jobs' open and newest blocks after the kill.
  cluster c(base_port(10), concat(model_flags(), {"--workers", "2", "--memory-nodes", "2",
                                                  "--device-kv-budget", "512KiB",
                                                  "--host-kv-budget", "4MiB",
                                                  "--force-phase", "2", "--threads", "1"}));
  ASSERT_TRUE(c.ready()) << c.process().err();
  const std::vector<std::string> prompts = {"Once upon a time", "The cat"};
  auto first = start_streaming(c.coordinator(), prompts[0], 440, 600);
  auto second = start_streaming(c.coordinator(), prompts[1], 440, 20);
  ASSERT_TRUE(first->running() && second->running()) << "a job ended before the fault";
  EXPECT_GT(cluster_status(c.coordinator()).value("memory_bytes_used", 0), 0);
  ::kill(c.pid_of("worker", 0), SIGKILL);
  ASSERT_EQ(first->wait(180s), 0) << first->err();
  ASSERT_EQ(second->wait(180s), 0) << second->err();
  EXPECT_EQ(first->out(), expected_stream(prompts[0], 440));
  EXPECT_EQ(second->out(), expected_stream(prompts[1], 440));
  // Finished jobs erase their own sequences; the dead worker's are erased by owner.
  uint64_t left = 1;
  for (int i = 0; i < 50 && left != 0; ++i) {
    left = cluster_status(c.coordinator()).value("memory_bytes_used", uint64_t{1});
    if (left != 0) std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(left, 0u) << "KV of a dead worker (or of finished jobs) is still on the memory nodes";
  EXPECT_EQ(c.stop(), 0) << c.process().err();
}

TEST(cluster, a_client_that_disconnects_has_its_job_cancelled) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  cluster c(base_port(6), concat(model_flags(), {"--workers", "1", "--memory-nodes", "0",
                                                 "--threads", "1"}));
  ASSERT_TRUE(c.ready()) << c.process().err();
  auto client = start_streaming(c.coordinator(), "Once upon a time", 440);
  ASSERT_TRUE(client->running());
  client->signal(SIGKILL);
  client->wait(10s);
  int running = -1;
  for (int i = 0; i < 100 && running != 0; ++i) {
    running = cluster_status(c.coordinator()).value("running", -1);
    if (running != 0) std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(running, 0) << "the job of a vanished client kept running";
  EXPECT_EQ(c.stop(), 0) << c.process().err();
}

TEST(cluster, a_worker_that_joins_later_is_used) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  const int port = base_port(7);
  cluster c(port, concat(model_flags(), {"--workers", "1", "--memory-nodes", "0"}));
  ASSERT_TRUE(c.ready()) << c.process().err();
  child_process late(concat({"node", "--role", "worker", "--listen", "127.0.0.1:0",
                             "--coordinator", c.coordinator()},
                            model_flags()));
  int workers = 0;
  for (int i = 0; i < 100 && workers < 2; ++i) {
    workers = cluster_status(c.coordinator()).value("workers", 0);
    if (workers < 2) std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(workers, 2) << late.err();
  auto s = run_submit(c.coordinator(), "The cat", 30);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(s.result["text"], engine_text("The cat", 30));
  late.signal(SIGTERM);
  EXPECT_EQ(late.wait(30s), 0) << late.err();
  EXPECT_EQ(c.stop(), 0) << c.process().err();
}


// A coordinator paused longer than the 10 s connection timeout (SIGSTOP, a long GC-like stall):
// the worker and memory node lose it, keep trying for --coordinator-grace, and rejoin when it
// resumes; the cluster then serves the same text with both nodes, instead of accepting jobs it
// never runs.
TEST(cluster, nodes_rejoin_a_coordinator_paused_past_the_connection_timeout) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  cluster c(base_port(15), concat(model_flags(), {"--workers", "1", "--memory-nodes", "1",
                                                  "--device-kv-budget", "256KiB", "--host-kv-budget",
                                                  "4MiB", "--force-phase", "2"}));
  ASSERT_TRUE(c.ready()) << c.process().err();
  const int coordinator_pid = c.pid_of("coordinator", 0);
  ASSERT_GT(coordinator_pid, 0) << c.process().out();
  ::kill(coordinator_pid, SIGSTOP);
  std::this_thread::sleep_for(13s);
  ::kill(coordinator_pid, SIGCONT);
  nlohmann::json status;
  for (int i = 0; i < 60; ++i) {
    status = cluster_status(c.coordinator());
    if (status.value("workers", 0) == 1 && status.value("memory_nodes", 0) == 1) break;
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_EQ(status.value("workers", -1), 1) << status.dump() << c.process().err();
  EXPECT_EQ(status.value("memory_nodes", -1), 1) << status.dump();
  EXPECT_NE(c.process().err().find("trying to rejoin"), std::string::npos) << c.process().err();
  auto s = run_submit(c.coordinator(), "The cat", 60);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(s.result["text"], engine_text("The cat", 60));
  EXPECT_EQ(c.stop(), 0) << c.process().err();
}

// Two workers with prefix caches: a question about a document goes to the worker that already
// answered one about it (it holds the document's blocks) even when the other is as idle.
TEST(cluster, a_repeated_document_goes_to_the_worker_that_holds_its_prefix) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  cluster c(base_port(17), concat(model_flags(), {"--workers", "2", "--memory-nodes", "0",
                                                  "--threads", "1", "--prefix-cache-budget", "64MiB"}));
  ASSERT_TRUE(c.ready()) << c.process().err();
  std::string story;
  for (int i = 0; i < 6; ++i)
    story += "Once upon a time, there was a little girl named Lily. She liked to play in the park. ";
  // Worker 0 is busy with another job, so the first question goes to worker 1.
  auto busy = start_streaming(c.coordinator(), "The cat", 440);
  ASSERT_TRUE(busy->running());
  auto first = run_submit(c.coordinator(), story + "One day", 8);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.result["cached_tokens"], 0);
  ASSERT_EQ(busy->wait(120s), 0) << busy->err();
  // Both idle now: least-loaded placement alone would pick worker 0, whose cache lacks the story.
  auto second = run_submit(c.coordinator(), story + "Then Tom said", 8);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_GE(second.result["cached_tokens"].get<int>(), 128) << second.result.dump();
  EXPECT_EQ(c.stop(), 0) << c.process().err();
}

// Polls `alisa status` until the coordinator counts `n` workers (false after 60 s).
bool wait_for_workers(const std::string& coordinator, int n) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cluster_status(coordinator).value("workers", -1) == n) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

// Replaces the cluster's only worker (killed) with a new one started by hand, with its own empty
// prefix cache.
std::unique_ptr<child_process> replace_worker(const std::string& coordinator, pid_t killed) {
  ::kill(killed, SIGKILL);
  EXPECT_TRUE(wait_for_workers(coordinator, 0)) << "the killed worker is still counted";
  auto worker = std::make_unique<child_process>(
      concat({"node", "--role", "worker", "--coordinator", coordinator, "--threads", "1",
              "--prefix-cache-budget", "64MiB"},
             model_flags()));
  EXPECT_TRUE(wait_for_workers(coordinator, 1)) << worker->err();
  return worker;
}

// A prefix one worker computed is reused by another through the memory node: the first worker
// answers a question about a story and is killed; a new worker answers another question with the
// story's blocks from the memory node, and the text it would give cold. Then the memory node
// dies too: the next new worker recomputes the story, again with the cold text.
TEST(cluster, a_prefix_one_worker_computed_is_reused_by_another_through_the_memory_node) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  cluster c(base_port(16), concat(model_flags(), {"--workers", "1", "--memory-nodes", "1",
                                                  "--threads", "1", "--prefix-cache-budget", "64MiB"}));
  ASSERT_TRUE(c.ready()) << c.process().err();
  std::string story;
  for (int i = 0; i < 6; ++i)
    story += "Once upon a time, there was a little girl named Lily. She liked to play in the park. ";
  auto first = run_submit(c.coordinator(), story + "One day", 8);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.result["cached_tokens"], 0);

  auto second_worker = replace_worker(c.coordinator(), c.pid_of("worker", 0));
  auto second = run_submit(c.coordinator(), story + "Then Tom said", 8);
  ASSERT_EQ(second.exit_code, 0) << second.err << second_worker->err();
  EXPECT_GE(second.result["cached_tokens"].get<int>(), 128) << second.result.dump();
  EXPECT_EQ(second.result["text"], engine_text(story + "Then Tom said", 8));

  ::kill(c.pid_of("memory", 0), SIGKILL);
  auto third_worker = replace_worker(c.coordinator(), second_worker->pid());
  auto third = run_submit(c.coordinator(), story + "The dog", 8);
  ASSERT_EQ(third.exit_code, 0) << third.err << third_worker->err();
  EXPECT_EQ(third.result["cached_tokens"], 0) << "the only copy died with the memory node";
  EXPECT_EQ(third.result["text"], engine_text(story + "The dog", 8));
  EXPECT_EQ(c.stop(), 0) << c.process().err();
}

TEST(cluster, a_tls_cluster_refuses_nodes_without_its_certificate) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  cluster c(base_port(8),
            concat(concat(model_flags(), {"--workers", "1", "--memory-nodes", "0"}),
                   tls_flags("node.pem", "node.key")));
  ASSERT_TRUE(c.ready()) << c.process().err();
  // With the cluster's certificate: served.
  auto ok = run_submit(c.coordinator(), "The cat", 20, tls_flags("node.pem", "node.key"));
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.result["text"], engine_text("The cat", 20));
  // Plain TCP: refused.
  child_process plain(concat({"node", "--role", "worker", "--coordinator", c.coordinator(),
                              "--join-timeout", "3"},
                             model_flags()));
  EXPECT_EQ(plain.wait(60s), 1) << plain.err();
  EXPECT_NE(plain.err().find("cannot reach"), std::string::npos) << plain.err();
  // TLS with a certificate from outside the cluster: refused too.
  auto stranger = run_submit(c.coordinator(), "The cat", 20,
                             concat(tls_flags("other.pem", "other.key"), {"--connect-timeout", "3"}));
  EXPECT_EQ(stranger.exit_code, 1) << stranger.err;
  EXPECT_EQ(cluster_status(c.coordinator(), tls_flags("node.pem", "node.key")).value("workers", -1), 1);
  EXPECT_EQ(c.stop(), 0) << c.process().err();
}

}  // namespace
}  // namespace alisa::testing
