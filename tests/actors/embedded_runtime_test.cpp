// The actor runtime in one process: coordinator + gpu_worker over stories260K. Concurrent clients
// all get exactly their own job's text (the same as the engine alone), a full queue is a clear
// rejection, and shutdown does not hang (the test would time out).
#include "actors/embedded_runtime.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "tests/support/shared_models.hpp"
#include "tests/support/stories_engine.hpp"

namespace alisa::actors {
using engine::engine_options;
using engine::local_engine;
using engine::tiered_kv_store;
namespace {

std::unique_ptr<local_engine> open_stories() { return testing::open_stories_engine(); }

const std::vector<std::string> kPrompts = {"Once upon a time", "The cat", "Lily went to the park",
                                           "One day, a big dog", "Tom had a red ball",
                                           "The sun was hot", "A little bird", "Mom said"};

submit_job make_job(const local_engine& e, int i) {
  submit_job job;
  job.prompt_ids = *e.encode_prompt(kPrompts[i % kPrompts.size()]);
  job.sampling.max_tokens = 12 + 3 * (i % 5);
  return job;
}

TEST(EmbeddedRuntime, ConcurrentClientsEachGetTheirOwnText) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  auto reference = open_stories();
  ASSERT_TRUE(reference);
  const int num_jobs = 32;
  std::vector<submit_job> jobs;
  std::vector<std::string> expected;
  for (int i = 0; i < num_jobs; ++i) {
    jobs.push_back(make_job(*reference, i));
    const auto r = reference->generate(
        std::vector<int>(jobs.back().prompt_ids.begin(), jobs.back().prompt_ids.end()),
        jobs.back().sampling);
    expected.push_back(r.text);
  }
  embedded_runtime runtime(open_stories(), scheduler::batching_options{});
  std::vector<job_outcome> outcomes(num_jobs);
  std::vector<std::string> streamed(num_jobs);
  std::vector<std::thread> clients;
  for (int i = 0; i < num_jobs; ++i)
    clients.emplace_back([&, i] {
      outcomes[i] = runtime.submit(jobs[i], [&, i](std::string_view piece) { streamed[i] += piece; });
    });
  for (auto& t : clients) t.join();
  for (int i = 0; i < num_jobs; ++i) {
    SCOPED_TRACE("job " + std::to_string(i));
    EXPECT_TRUE(outcomes[i].accepted);
    EXPECT_EQ(outcomes[i].error, "");
    EXPECT_EQ(outcomes[i].text, expected[i]);
    EXPECT_EQ(streamed[i], expected[i]);
    EXPECT_EQ(outcomes[i].finished.num_generated_tokens,
              static_cast<int>(outcomes[i].token_ids.size()));
  }
}

TEST(EmbeddedRuntime, FullQueueIsAClearRejection) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  scheduler::batching_options tight;
  tight.max_queued = 1;
  tight.max_running = 1;
  auto engine = open_stories();
  ASSERT_TRUE(engine);
  std::vector<submit_job> jobs;
  for (int i = 0; i < 12; ++i) {
    jobs.push_back(make_job(*engine, i));
    jobs.back().sampling.max_tokens = 40;
  }
  embedded_runtime runtime(std::move(engine), tight);
  std::vector<job_outcome> outcomes(jobs.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < jobs.size(); ++i)
    clients.emplace_back([&, i] { outcomes[i] = runtime.submit(jobs[i]); });
  for (auto& t : clients) t.join();
  int rejected = 0, finished = 0;
  for (const auto& o : outcomes) {
    if (!o.accepted) {
      ++rejected;
      EXPECT_NE(o.error.find("queue full"), std::string::npos) << o.error;
    } else {
      ++finished;
      EXPECT_EQ(o.error, "");
    }
  }
  EXPECT_GT(rejected, 0);
  EXPECT_GT(finished, 0);
  EXPECT_EQ(rejected + finished, static_cast<int>(jobs.size()));
}

TEST(EmbeddedRuntime, BadJobsAreRejectedAtAdmission) {
  embedded_runtime runtime(*local_engine::open(engine_options{}), scheduler::batching_options{});
  submit_job too_long;
  too_long.prompt_ids.assign(100000, 5);
  const auto r = runtime.submit(too_long);
  EXPECT_FALSE(r.accepted);
  EXPECT_NE(r.error.find("context"), std::string::npos) << r.error;
  submit_job bad;
  bad.prompt_ids = {1, 2};
  bad.sampling.top_p = 0.0f;
  EXPECT_NE(runtime.submit(bad).error.find("--top-p"), std::string::npos);
}

// With a host KV budget, the host tier is a memory_tier actor in the same actor system (reached
// through a remote_block_store, as a cluster's memory node is), and the text does not change.
TEST(EmbeddedRuntime, HostTierIsAMemoryTierActor) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  auto reference = open_stories();
  ASSERT_TRUE(reference);
  submit_job job;
  job.prompt_ids = *reference->encode_prompt("Once upon a time");
  job.sampling.max_tokens = 200;
  job.sampling.ignore_eos = true;
  const auto expected = reference->generate(
      std::vector<int>(job.prompt_ids.begin(), job.prompt_ids.end()), job.sampling);
  engine_options o;
  o.tiers.device_budget = 160 << 10;
  o.tiers.host_budget = 1 << 20;
  o.tiers.force_phase = 2;
  embedded_runtime runtime(testing::open_stories_engine(o), scheduler::batching_options{});
  const auto outcome = runtime.submit(job);
  ASSERT_EQ(outcome.error, "");
  EXPECT_EQ(outcome.text, expected.text);
  const tiered_kv_store* tiers = runtime.engine().tier_store();
  ASSERT_NE(tiers, nullptr);
  const storage::block_store* host = tiers->tier_store(kv_tier::host);
  ASSERT_NE(host, nullptr);
  EXPECT_EQ(host->name(), "spread");
  EXPECT_TRUE(host->is_remote());
  EXPECT_GT(tiers->report().tiers[static_cast<size_t>(kv_tier::host)].tokens_loaded, 0u);
}

}  // namespace
}  // namespace alisa::actors
