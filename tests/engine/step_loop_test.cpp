// The one step loop: jobs that join a running batch at different steps, with different lengths
// and stopping rules, produce exactly the text and tokens each gives when generated alone by the
// tests' reference loop (tests/support/reference_generate.hpp); a job alone in the batch reports
// the reference's statistics exactly. Chunked prefill, admission against the device pool and
// preemption keep every job's output identical.
#include "engine/step_loop.hpp"

#include <gtest/gtest.h>

#include <map>

#include "engine/tiered_kv_store.hpp"
#include "engine/tiered_sequence.hpp"
#include "tests/support/reference_generate.hpp"
#include "tests/support/shared_models.hpp"
#include "tests/support/stories_engine.hpp"

namespace alisa::engine {
namespace {

std::unique_ptr<local_engine> open_stories() { return testing::open_stories_engine(); }

// The reference loop's generation of `s` alone, with the engine's selection policy and (tiered
// engines) a fresh tiered sequence, as the step loop gives each job.
generation_result reference_alone(local_engine& engine, const submit_job& s) {
  auto selection = engine.make_selection();
  std::unique_ptr<tiered_sequence> sequence;
  const int final_length = static_cast<int>(s.prompt_ids.size()) + s.sampling.max_tokens;
  if (engine.tier_store()) sequence = engine.make_tiered_sequence(final_length, final_length);
  const std::vector<int> prompt(s.prompt_ids.begin(), s.prompt_ids.end());
  return testing::reference_generate(engine.runner(), engine.tokenizer(), prompt, s.sampling,
                                     selection.get(), sequence.get());
}

struct outcome {
  std::vector<int32_t> tokens;
  std::string text;
  std::string reason;
  int num_decode_steps = 0;
  double kv_tokens_attended_per_step = 0.0;
};

// Runs one job alone through a step_loop until it ends: its tokens and its job_finished.
std::pair<std::vector<int32_t>, job_finished> run_alone(local_engine& engine, const submit_job& s) {
  step_loop batch(engine);
  EXPECT_FALSE(batch.add(s).has_value());
  std::vector<int32_t> tokens;
  job_finished finished;
  for (int step = 0; step < 1000 && !batch.empty(); ++step) {
    const step_report r = batch.step();
    for (const auto& c : r.chunks) tokens.insert(tokens.end(), c.token_ids.begin(), c.token_ids.end());
    for (const auto& f : r.finished) finished = f;
    EXPECT_TRUE(r.failed.empty());
  }
  EXPECT_TRUE(batch.empty());
  return {tokens, finished};
}

// The reference loop on one engine and the step loop on a twin opened with the same options (the
// tiered store's placement state starts equal): the same tokens and the same decode statistics,
// defined the same way (decode steps only). Times are wall clock, so only checked to exist.
void expect_alone_matches_generate(const engine_options& o, const std::string& prompt,
                                   int max_tokens) {
  auto reference = testing::open_stories_engine(o);
  auto engine = testing::open_stories_engine(o);
  ASSERT_TRUE(reference && engine);
  submit_job s;
  s.id = request_id{7};
  s.prompt_ids = *engine->encode_prompt(prompt);
  s.sampling.max_tokens = max_tokens;
  s.sampling.ignore_eos = true;
  const auto want = reference_alone(*reference, s);
  const auto [tokens, got] = run_alone(*engine, s);
  EXPECT_EQ(tokens, std::vector<int32_t>(want.token_ids.begin(), want.token_ids.end()));
  EXPECT_EQ(got.finish_reason, to_string(want.reason));
  EXPECT_EQ(got.num_decode_steps, want.num_decode_steps);
  EXPECT_GT(got.num_decode_steps, 0);
  EXPECT_DOUBLE_EQ(got.kv_tokens_attended_per_step, want.kv_tokens_attended_per_step);
  EXPECT_DOUBLE_EQ(got.kv_bytes_read_per_step, want.kv_bytes_read_per_step);
  EXPECT_EQ(got.tokens_recomputed, want.tokens_recomputed);
  if (o.tiers.force_phase == 3) {
    EXPECT_GT(got.tokens_recomputed, 0);
  }
  EXPECT_GT(got.kv_tokens_attended_per_step, 0.0);
  EXPECT_GT(got.attention_ms, 0.0);
  EXPECT_GT(got.decode_ms, 0.0);
}

engine_options swa_options() {
  engine_options o;
  o.attention.policy = scheduler::attention_policy::swa;
  o.attention.sparsity = 0.8;
  return o;
}

TEST(StepLoop, JobAloneReportsTheStatisticsOfGenerate) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  expect_alone_matches_generate(swa_options(), "Once upon a time", 120);
}

// Phase III forced on a device budget smaller than the context: rows are dropped and recomputed,
// and the job's recompute count is generate()'s.
TEST(StepLoop, JobAloneReportsTheRecomputeOfGenerate) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  auto o = swa_options();
  o.tiers.device_budget = 160 * 1024;
  o.tiers.host_budget = 64 << 20;
  o.tiers.force_phase = 3;
  expect_alone_matches_generate(o, "Once upon a time", 250);
}

TEST(StepLoop, JobsJoiningMidBatchMatchGeneratingAlone) {
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
    const auto r = reference_alone(*engine, s);
    alone[s.id.value] = {std::vector<int32_t>(r.token_ids.begin(), r.token_ids.end()), r.text,
                         std::string(to_string(r.reason)), r.num_decode_steps,
                         r.kv_tokens_attended_per_step};
  }
  step_loop batch(*engine);
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
    for (const auto& f : r.finished) {
      batched[f.id.value].reason = f.finish_reason;
      batched[f.id.value].num_decode_steps = f.num_decode_steps;
      batched[f.id.value].kv_tokens_attended_per_step = f.kv_tokens_attended_per_step;
    }
    EXPECT_TRUE(r.failed.empty());
  }
  ASSERT_TRUE(batch.empty());
  for (const auto& [id, o] : alone) {
    SCOPED_TRACE("request " + std::to_string(id));
    EXPECT_EQ(batched[id].tokens, o.tokens);
    EXPECT_EQ(batched[id].text, o.text);
    EXPECT_EQ(batched[id].reason, o.reason);
    // Steps are counted per job; attention shares of steps shared with other jobs are a mean,
    // so only their presence is checked.
    EXPECT_EQ(batched[id].num_decode_steps, o.num_decode_steps);
    EXPECT_GT(batched[id].kv_tokens_attended_per_step, 0.0);
  }
}

TEST(StepLoop, BadJobsAreRefusedWithAReason) {
  auto engine = local_engine::open(engine_options{});  // synthetic:tiny
  ASSERT_TRUE(engine.ok());
  step_loop batch(**engine);
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
}  // namespace alisa::engine
