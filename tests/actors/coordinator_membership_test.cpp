// The coordinator's membership in one process: nodes announce themselves with node_hello, the
// status reply counts them, and a node that goes down is forgotten.
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "actors/coordinator.hpp"
#include "actors/memory_tier.hpp"
#include "actors/runtime_atoms.hpp"
#include "proto/caf_messages.hpp"

namespace alisa::actors {
namespace {

using namespace std::chrono_literals;

struct counts {
  uint32_t workers = 0, memory = 0;
};

counts status_of(caf::actor_system& sys, const caf::actor& coordinator) {
  caf::scoped_actor self{sys};
  counts c;
  self->request(coordinator, 5s, status_atom::value)
      .receive([&](uint32_t w, uint32_t m, uint32_t, uint32_t, uint64_t, uint64_t) { c = {w, m}; },
               [&](caf::error& err) { ADD_FAILURE() << to_string(err); });
  return c;
}

TEST(coordinator_membership, memory_nodes_join_and_leave) {
  caf::actor_system_config cfg;
  register_message_types(cfg);
  caf::actor_system sys{cfg};
  coordinator_options o;
  o.context_length = 512;
  o.vocab_size = 512;
  auto coordinator = sys.spawn(actors::coordinator, std::vector<caf::actor>{}, o);
  memory_tier_options mo;
  mo.host_budget = 1 << 20;
  auto memory = spawn_memory_tier(sys, mo);
  ASSERT_TRUE(memory.ok()) << memory.status();
  caf::send_as(*memory, coordinator, node_hello{node_id{1}, "memory", "in-process"});
  counts c;
  for (int i = 0; i < 50 && c.memory == 0; ++i) {
    c = status_of(sys, coordinator);
    if (c.memory == 0) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(c.memory, 1u);
  EXPECT_EQ(c.workers, 0u);
  caf::anon_send_exit(*memory, caf::exit_reason::kill);
  for (int i = 0; i < 50 && c.memory == 1; ++i) {
    c = status_of(sys, coordinator);
    if (c.memory == 1) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(c.memory, 0u) << "a memory node that went down is still counted";
  caf::anon_send_exit(coordinator, caf::exit_reason::user_shutdown);
}

// A worker that takes its step plans and never answers (hung, or busy forever).
caf::behavior silent_worker(caf::event_based_actor* self) {
  return {[self](step_plan&) { return self->make_response_promise<step_report>(); },
          [](memory_nodes_atom, const std::vector<caf::actor>&, const std::vector<std::string>&) {}};
}

// Submits a 3-token job from `client` and returns how it ended ("failed: …", "rejected: …", or
// "" when nothing came within `patience`), and how long that took after the acceptance.
std::pair<std::string, std::chrono::milliseconds> submit_and_wait(caf::scoped_actor& client,
                                                                  const caf::actor& coordinator,
                                                                  std::chrono::seconds patience) {
  submit_job job;
  job.prompt_ids = {1, 2, 3};
  job.sampling.max_tokens = 4;
  client->send(coordinator, job);
  std::string ended;
  auto accepted_at = std::chrono::steady_clock::now();
  bool done = false;
  while (!done)
    client->receive([&](job_accepted&) { accepted_at = std::chrono::steady_clock::now(); },
                    [&](job_failed& f) { ended = "failed: " + f.reason, done = true; },
                    [&](job_rejected& r) { ended = "rejected: " + r.reason, done = true; },
                    caf::after(patience) >> [&] { done = true; });
  return {ended, std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - accepted_at)};
}

// A coordinator's checks on its workers: the model identity, and bounded waits.
struct coordinator_liveness : ::testing::Test {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  coordinator_options o;
  void SetUp() override {
    register_message_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    o.context_length = 512;
    o.vocab_size = 512;
    o.no_worker_timeout = 300ms;
  }
  caf::actor spawn_coordinator(std::vector<caf::actor> workers = {}) {
    coordinator_ = sys->spawn(actors::coordinator, std::move(workers), o);
    return coordinator_;
  }
  void TearDown() override { caf::anon_send_exit(coordinator_, caf::exit_reason::user_shutdown); }

 private:
  caf::actor coordinator_;
};

TEST_F(coordinator_liveness, a_worker_whose_model_identity_differs_is_not_used) {
  o.model_identity = "hidden_size=64\n";
  auto coordinator = spawn_coordinator();
  auto stranger = sys->spawn(silent_worker);
  auto member = sys->spawn(silent_worker);
  caf::send_as(stranger, coordinator, node_hello{node_id{1}, "worker", "a:1", "hidden_size=288\n"});
  caf::send_as(member, coordinator, node_hello{node_id{2}, "worker", "b:1", "hidden_size=64\n"});
  counts c;
  for (int i = 0; i < 50 && c.workers == 0; ++i) {
    c = status_of(*sys, coordinator);
    if (c.workers == 0) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(c.workers, 1u) << "only the worker with the coordinator's model joins";
  caf::scoped_actor self{*sys};
  self->request(coordinator, 5s, model_identity_atom::value)
      .receive([](const std::string& id) { EXPECT_EQ(id, "hidden_size=64\n"); },
               [](caf::error& e) { ADD_FAILURE() << to_string(e); });
  for (auto& a : {stranger, member}) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_F(coordinator_liveness, a_job_without_any_worker_fails_after_the_no_worker_timeout) {
  auto coordinator = spawn_coordinator();
  caf::scoped_actor client{*sys};
  auto [ended, after] = submit_and_wait(client, coordinator, 10s);
  EXPECT_NE(ended.find("failed: no worker has been available for 0.3 s"), std::string::npos) << ended;
  EXPECT_GE(after, 250ms);
  EXPECT_LT(after, 3s);
}

TEST_F(coordinator_liveness, killing_the_only_worker_fails_its_job_within_the_timeout) {
  auto stalled = sys->spawn(silent_worker);
  auto coordinator = spawn_coordinator({stalled});
  caf::scoped_actor client{*sys};
  std::thread killer([&] {
    std::this_thread::sleep_for(200ms);
    caf::anon_send_exit(stalled, caf::exit_reason::kill);
  });
  auto [ended, after] = submit_and_wait(client, coordinator, 10s);
  killer.join();
  EXPECT_NE(ended.find("no worker has been available"), std::string::npos) << ended;
  EXPECT_LT(after, 3s);
}

TEST_F(coordinator_liveness, a_worker_that_never_answers_a_step_is_dropped_after_the_step_timeout) {
  o.step_timeout = 300ms;
  auto hung = sys->spawn(silent_worker);
  auto coordinator = spawn_coordinator({hung});
  caf::scoped_actor client{*sys};
  client->monitor(hung);
  auto [ended, after] = submit_and_wait(client, coordinator, 10s);
  EXPECT_NE(ended.find("no worker has been available"), std::string::npos) << ended;
  EXPECT_LT(after, 5s);
  bool hung_stopped = false;
  client->receive([&](caf::down_msg&) { hung_stopped = true; }, caf::after(5s) >> [] {});
  EXPECT_TRUE(hung_stopped) << "a worker dropped for a step timeout must not keep running its jobs";
}

}  // namespace
}  // namespace alisa::actors
