// The step loop's chunked prefill, admission against the device pool and preemption: each changes
// when a job's rows run, never what it generates. Every job's tokens are compared with the same
// job run alone with its prompt in one step on an unconstrained engine.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/step_loop.hpp"
#include "engine/tiered_kv_store.hpp"
#include "tests/support/shared_models.hpp"
#include "tests/support/stories_engine.hpp"

namespace alisa::engine {
namespace {

struct outcome {
  std::vector<int32_t> tokens;
  std::string text;
  std::string reason;
  std::string failure;
};

// Adds a step's new tokens, text and endings to `out`.
void collect(const step_report& r, std::map<uint64_t, outcome>& out) {
  for (const auto& c : r.chunks) {
    out[c.id.value].tokens.insert(out[c.id.value].tokens.end(), c.token_ids.begin(),
                                  c.token_ids.end());
    out[c.id.value].text += c.text;
  }
  for (const auto& f : r.finished) out[f.id.value].reason = f.finish_reason;
  for (const auto* ended : {&r.failed, &r.lost})
    for (const auto& f : *ended) out[f.id.value].failure = f.reason;
}

// Drives `loop` until every job has ended; `observe` sees each step's loop after it ran.
std::map<uint64_t, outcome> run_to_end(step_loop& loop,
                                       const std::function<void(const step_report&)>& observe = {},
                                       std::map<uint64_t, outcome> out = {}) {
  for (int step = 0; step < 5000 && !loop.empty(); ++step) {
    const step_report r = loop.step();
    collect(r, out);
    if (observe) observe(r);
  }
  EXPECT_TRUE(loop.empty()) << "the loop did not finish its jobs in 5000 steps";
  return out;
}

submit_job greedy_job(uint64_t id, std::vector<int32_t> prompt, int max_tokens) {
  submit_job s;
  s.id = request_id{id};
  s.prompt_ids = std::move(prompt);
  s.sampling.max_tokens = max_tokens;
  s.sampling.ignore_eos = true;
  return s;
}

// A prompt of `n` tokens: BOS, then the story text's ids repeated.
std::vector<int32_t> long_prompt(local_engine& engine, int n) {
  const auto piece = *engine.encode_prompt(
      "Once upon a time, there was a little girl named Lily. She liked to play in the park.");
  std::vector<int32_t> ids(piece.begin(), piece.end());
  while (static_cast<int>(ids.size()) < n) ids.insert(ids.end(), piece.begin() + 1, piece.end());
  ids.resize(static_cast<size_t>(n));
  return ids;
}

// Each job alone on `engine`, prompt in one step: the expected tokens.
std::map<uint64_t, outcome> alone(local_engine& engine, const std::vector<submit_job>& jobs) {
  std::map<uint64_t, outcome> out;
  for (const auto& s : jobs) {
    step_loop loop(engine);
    EXPECT_FALSE(loop.add(s).has_value());
    out[s.id.value] = run_to_end(loop)[s.id.value];
  }
  return out;
}

void expect_same_tokens(const std::map<uint64_t, outcome>& got,
                        const std::map<uint64_t, outcome>& want) {
  for (const auto& [id, o] : want) {
    SCOPED_TRACE("request " + std::to_string(id));
    ASSERT_TRUE(got.count(id));
    EXPECT_EQ(got.at(id).failure, "");
    EXPECT_EQ(got.at(id).tokens, o.tokens);
    EXPECT_EQ(got.at(id).text, o.text);
    EXPECT_EQ(got.at(id).reason, o.reason);
  }
}

engine_options with_prefill_budget(engine_options o, int budget) {
  o.max_prefill_tokens = budget;
  return o;
}

// Dense and SWA: a 200-token prompt fed 16 rows a step gives the tokens of the whole prompt in one
// step, while a job that already decodes gets one token in every one of those steps. A sparse
// policy's final chunk holds the rows its selection scores (SWA: its window), even past 16.
void expect_chunked_prefill_is_invisible(engine_options o) {
  auto whole = testing::open_stories_engine(with_prefill_budget(o, 0));
  auto chunked = testing::open_stories_engine(with_prefill_budget(o, 16));
  ASSERT_TRUE(whole && chunked);
  const auto selection = chunked->make_selection();
  const int tail = selection ? std::max(2, selection->prefill_tail_rows(200)) : 0;
  const int largest_chunk = std::max(16, tail);
  const std::vector<submit_job> jobs = {greedy_job(1, long_prompt(*whole, 8), 60),
                                        greedy_job(2, long_prompt(*whole, 200), 20)};
  const auto want = alone(*whole, jobs);
  step_loop loop(*chunked);
  ASSERT_FALSE(loop.add(jobs[0]).has_value());
  std::map<uint64_t, outcome> first;
  collect(loop.step(), first);  // job 1 prefilled: it decodes from now on
  ASSERT_FALSE(loop.add(jobs[1]).has_value());
  int prefill_steps = 0;
  const auto got = run_to_end(loop, [&](const step_report&) {
    if (loop.last_step().prompt_rows == 0) return;
    ++prefill_steps;
    EXPECT_LE(loop.last_step().prompt_rows, largest_chunk);
    EXPECT_EQ(loop.last_step().decode_rows, 1) << "the decoding job must not wait for a prefill";
  }, first);
  EXPECT_GE(prefill_steps, 200 / largest_chunk);
  EXPECT_GT(prefill_steps, 1);
  expect_same_tokens(got, want);
}

TEST(StepLoopChunkedPrefill, DenseOutputDoesNotDependOnTheChunkSize) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  expect_chunked_prefill_is_invisible(engine_options{});
}

engine_options sparse(scheduler::attention_policy policy) {
  engine_options o;
  o.attention.policy = policy;
  o.attention.sparsity = 0.8;
  return o;
}

TEST(StepLoopChunkedPrefill, SwaOutputDoesNotDependOnTheChunkSize) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  expect_chunked_prefill_is_invisible(sparse(scheduler::attention_policy::swa));
}

TEST(StepLoopChunkedPrefill, PositionalPoliciesChunkFreely) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  for (auto policy : {scheduler::attention_policy::streaming, scheduler::attention_policy::local}) {
    SCOPED_TRACE(std::string(scheduler::to_string(policy)));
    expect_chunked_prefill_is_invisible(sparse(policy));
  }
}

// H2O scores every prompt row: its prompt runs whole, whatever the budget.
TEST(StepLoopChunkedPrefill, H2oPromptsRunWhole) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  auto engine = testing::open_stories_engine(
      with_prefill_budget(sparse(scheduler::attention_policy::h2o), 16));
  ASSERT_TRUE(engine);
  step_loop loop(*engine);
  ASSERT_FALSE(loop.add(greedy_job(1, long_prompt(*engine, 200), 4)).has_value());
  loop.step();
  EXPECT_EQ(loop.last_step().prompt_rows, 200);
}

// The README cluster's worker budgets: 256 KiB of device pool holds three sequences' open blocks
// (stories260K has 5 layers), so of 8 concurrent jobs the rest wait, and every one completes with
// the text it gets alone (before the loop admitted against the pool, 4 concurrent jobs failed).
TEST(StepLoopAdmission, JobsBeyondTheDevicePoolWaitAndMatchTheirSoloOutput) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  engine_options o;
  o.tiers.device_budget = 256 * 1024;
  o.tiers.host_budget = 64 << 20;
  auto engine = testing::open_stories_engine(o);
  auto reference = testing::open_stories_engine();
  ASSERT_TRUE(engine && reference);
  const int per_sequence = engine->config().num_layers;
  const int max_running = engine->tier_store()->device_slots() / per_sequence;
  ASSERT_LT(max_running, 8) << "the pool must be too small for every job at once";
  std::vector<submit_job> jobs;
  for (uint64_t i = 1; i <= 8; ++i) jobs.push_back(greedy_job(i, long_prompt(*reference, 10 + 7 * int(i)), 90));
  step_loop loop(*engine);
  for (const auto& s : jobs) ASSERT_FALSE(loop.add(s).has_value());
  size_t most_waiting = 0;
  const auto got = run_to_end(loop, [&](const step_report&) {
    EXPECT_LE(loop.size() - loop.num_waiting(), static_cast<size_t>(max_running));
    most_waiting = std::max(most_waiting, loop.num_waiting());
  });
  EXPECT_GT(most_waiting, 0u);
  expect_same_tokens(got, alone(*reference, jobs));
}

// With no tier below the device, a job holds every block of its capacity on the device: jobs run
// one at a time when only one fits, and a job that cannot fit even alone fails with the budget
// and its need named, while the others complete.
TEST(StepLoopAdmission, DeviceOnlyPoolRunsWhatFitsAndFailsWhatNeverCan) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  engine_options o;
  o.tiers.device_budget = 160 * 1024;  // 10 blocks: 2 per layer
  auto engine = testing::open_stories_engine(o);
  auto reference = testing::open_stories_engine();
  ASSERT_TRUE(engine && reference);
  const std::vector<submit_job> fits = {greedy_job(1, long_prompt(*reference, 20), 60),
                                        greedy_job(2, long_prompt(*reference, 30), 50)};
  step_loop loop(*engine);
  for (const auto& s : fits) ASSERT_FALSE(loop.add(s).has_value());
  ASSERT_FALSE(loop.add(greedy_job(3, long_prompt(*reference, 100), 200)).has_value());
  const auto got = run_to_end(loop, [&](const step_report&) {
    EXPECT_LE(loop.size() - loop.num_waiting(), 1u);
  });
  expect_same_tokens(got, alone(*reference, fits));
  ASSERT_TRUE(got.count(3));
  EXPECT_NE(got.at(3).failure.find("--device-kv-budget 160.00 KiB holds 10 KV blocks"),
            std::string::npos) << got.at(3).failure;
  EXPECT_NE(got.at(3).failure.find("needs 25"), std::string::npos) << got.at(3).failure;
}

// --policy vllm keeps every block on the device and preempts the latest admitted job when the pool
// runs short before a step; the preempted job is recomputed from its tokens when resumed and
// generates exactly what it generates alone.
TEST(StepLoopAdmission, VllmPreemptionByRecomputeKeepsEveryJobsOutput) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  engine_options o;
  o.tiers.policy = scheduler::kv_policy::vllm;
  o.tiers.device_budget = 5 * 6 * 16 * 1024;  // 6 blocks per layer
  auto engine = testing::open_stories_engine(o);
  auto reference = testing::open_stories_engine();
  ASSERT_TRUE(engine && reference);
  std::vector<submit_job> jobs;
  for (uint64_t i = 1; i <= 3; ++i) jobs.push_back(greedy_job(i, long_prompt(*reference, 30), 150));
  step_loop loop(*engine);
  for (const auto& s : jobs) ASSERT_FALSE(loop.add(s).has_value());
  int preempted = 0;
  int64_t recomputed = 0;
  const auto got = run_to_end(loop, [&](const step_report&) {
    preempted += loop.last_step().preempted;
    recomputed += loop.last_step().rows_recomputed;
  });
  EXPECT_GT(preempted, 0);
  EXPECT_GT(recomputed, 0);
  expect_same_tokens(got, alone(*reference, jobs));
}

TEST(StepLoopAdmission, APoolSmallerThanOneBlockPerLayerIsRefusedAtStartUp) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  engine_options o;
  o.model = testing::shared_model_path("stories260K/stories260K.bin");
  o.tokenizer = testing::shared_model_path("stories260K/tok512.bin");
  o.tiers.device_budget = 64 * 1024;
  o.tiers.host_budget = 64 << 20;
  const auto engine = local_engine::open(o);
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().message(),
            "--device-kv-budget 64.00 KiB holds 4 KV blocks; this model needs at least 5 per running "
            "sequence (one block of 64 tokens per layer): give at least 80.00 KiB");
}

// A teacher-forced, score-only job feeds one prompt row per step and hands every row's logits to
// its observer; nothing is sampled.
TEST(StepLoop, ScoreOnlyJobsReportEveryPromptRow) {
  auto engine = local_engine::open(engine_options{});  // synthetic:tiny
  ASSERT_TRUE(engine.ok()) << engine.status();
  step_loop loop(**engine);
  std::vector<int> positions;
  job_extras extras;
  extras.prompt_rows_per_step = 1;
  extras.score_only = true;
  extras.on_prompt_logits = [&](int p, std::span<const float> logits) {
    positions.push_back(p);
    EXPECT_EQ(logits.size(), static_cast<size_t>((*engine)->config().vocab_size));
  };
  ASSERT_FALSE(loop.add(greedy_job(1, {1, 5, 6, 7, 8}, 0), extras).has_value());
  const auto got = run_to_end(loop);
  EXPECT_EQ(positions, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(got.at(1).tokens.empty());
  EXPECT_EQ(got.at(1).reason, "length");
}

}  // namespace
}  // namespace alisa::engine
