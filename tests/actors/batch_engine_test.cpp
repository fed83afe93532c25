// Continuous batching: jobs that join a running batch at different steps, with different lengths
// and stopping rules, produce exactly the text and tokens each gives when generated alone.
#include "actors/batch_engine.hpp"

#include <gtest/gtest.h>

#include <map>

#include "tests/support/shared_models.hpp"
#include "tests/support/stories_engine.hpp"

namespace alisa::actors {
namespace {

std::unique_ptr<local_engine> open_stories() { return testing::open_stories_engine(); }

struct outcome {
  std::vector<int32_t> tokens;
  std::string text;
  std::string reason;
};

TEST(BatchEngine, JobsJoiningMidBatchMatchGeneratingAlone) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  auto engine = open_stories();
  ASSERT_TRUE(engine);
  const std::vector<std::string> prompts = {"Once upon a time", "The cat", "Lily went to the park",
                                            "One day, a big dog"};
  std::vector<submit_job> jobs;
  for (size_t i = 0; i < prompts.size(); ++i) {
    submit_job s;
    s.id = request_id{i + 1};
    s.prompt_ids = *engine->encode_prompt(prompts[i]);
    s.sampling.max_tokens = 20 + 15 * static_cast<int>(i);
    if (i == 2) s.sampling.stop = {"park."};
    if (i == 3) {
      s.sampling.temperature = 0.8f;
      s.sampling.seed = 7;
    }
    jobs.push_back(s);
  }
  std::map<uint64_t, outcome> alone;
  for (const auto& s : jobs) {
    const auto r = engine->generate(std::vector<int>(s.prompt_ids.begin(), s.prompt_ids.end()),
                                    s.sampling);
    alone[s.id.value] = {std::vector<int32_t>(r.token_ids.begin(), r.token_ids.end()), r.text,
                         std::string(gpu::to_string(r.reason))};
  }
  batch_engine batch(*engine);
  std::map<uint64_t, outcome> batched;
  size_t next = 0;
  for (int step = 0; step < 400 && (next < jobs.size() || !batch.empty()); ++step) {
    if (next < jobs.size() && step % 3 == 0) {
      ASSERT_FALSE(batch.add(jobs[next++]).has_value());
    }
    const step_report r = batch.step();
    for (const auto& c : r.chunks) {
      auto& o = batched[c.id.value];
      o.tokens.insert(o.tokens.end(), c.token_ids.begin(), c.token_ids.end());
      o.text += c.text;
    }
    for (const auto& f : r.finished) batched[f.id.value].reason = f.finish_reason;
    EXPECT_TRUE(r.failed.empty());
  }
  ASSERT_TRUE(batch.empty());
  for (const auto& [id, o] : alone) {
    SCOPED_TRACE("request " + std::to_string(id));
    EXPECT_EQ(batched[id].tokens, o.tokens);
    EXPECT_EQ(batched[id].text, o.text);
    EXPECT_EQ(batched[id].reason, o.reason);
  }
}

TEST(BatchEngine, BadJobsAreRefusedWithAReason) {
  auto engine = local_engine::open(engine_options{});  // synthetic:tiny
  ASSERT_TRUE(engine.ok());
  batch_engine batch(**engine);
  submit_job empty;
  empty.id = request_id{1};
  EXPECT_EQ(batch.add(empty).value_or(""), "empty prompt");
  submit_job too_long;
  too_long.id = request_id{2};
  too_long.prompt_ids.assign(10000, 5);
  EXPECT_NE(batch.add(too_long).value_or("").find("context"), std::string::npos);
  submit_job bad_token;
  bad_token.id = request_id{3};
  bad_token.prompt_ids = {1, 999999};
  EXPECT_NE(batch.add(bad_token).value_or("").find("vocabulary"), std::string::npos);
  submit_job ok;
  ok.id = request_id{4};
  ok.prompt_ids = {1, 5, 6};
  EXPECT_FALSE(batch.add(ok).has_value());
  EXPECT_NE(batch.add(ok).value_or("").find("already"), std::string::npos);
  batch.cancel(request_id{4});
  EXPECT_TRUE(batch.empty());
}

}  // namespace
}  // namespace alisa::actors
