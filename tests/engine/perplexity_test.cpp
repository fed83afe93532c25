// Perplexity the way llama-perplexity computes it: the step-by-step teacher-forced path against a
// manual decode and a one-shot prefill, the chunking/scoring formulas recomputed independently,
// and the refusals. Real-model cases use stories260K; the rest run on synthetic:tiny.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/perplexity.hpp"
#include "tests/support/shared_models.hpp"

namespace alisa::engine {
namespace {

using scheduler::attention_policy;

// A few TinyStories-like sentences; repeated to reach the length a case needs.
const char* kStory =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
    "One day, she saw a big red ball under a tree. She ran to the ball and kicked it high. "
    "Her friend Tom came to play too, and they laughed all day. At night, Lily was tired and "
    "happy. She hugged her mom and went to sleep.\n";

std::string repeated_story(int times) {
  std::string s;
  for (int i = 0; i < times; ++i) s += kStory;
  return s;
}

std::unique_ptr<local_engine> open_engine(const std::string& model, const std::string& tokenizer,
                                          attention_policy policy, double sparsity) {
  engine_options o;
  o.model = model;
  o.tokenizer = tokenizer;
  o.attention.policy = policy;
  o.attention.sparsity = sparsity;
  auto engine = local_engine::open(o);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? std::move(*engine) : nullptr;
}

std::unique_ptr<local_engine> open_stories(attention_policy policy = attention_policy::dense,
                                           double sparsity = 0.0) {
  return open_engine(testing::shared_model_path("stories260K/stories260K.bin"),
                     testing::shared_model_path("stories260K/tok512.bin"), policy, sparsity);
}

std::unique_ptr<local_engine> open_tiny(attention_policy policy = attention_policy::dense,
                                        double sparsity = 0.0) {
  return open_engine("synthetic:tiny", "", policy, sparsity);
}

// The first `ctx` tokens of the story text, BOS first.
std::vector<int32_t> first_chunk(local_engine& engine, int ctx) {
  const auto ids = engine.tokenizer().encode(repeated_story(ctx / 8 + 4), true);
  EXPECT_GE(static_cast<int>(ids.size()), ctx);
  return std::vector<int32_t>(ids.begin(), ids.begin() + ctx);
}

// Feeds `chunk` one token per forward call through the runner, with its own selection.
std::vector<float> manual_decode(local_engine& engine, const std::vector<int32_t>& chunk) {
  auto& runner = engine.runner();
  auto cache = runner.make_cache(static_cast<int>(chunk.size()));
  auto selection = engine.make_selection();
  std::vector<float> all, row;
  for (const int32_t& token : chunk) {
    gpu::forward_request r{cache.get(), {&token, 1}, false, selection.get()};
    runner.forward({&r, 1}, row);
    all.insert(all.end(), row.begin(), row.end());
  }
  return all;
}

// log-softmax written out independently of token_nll.
double reference_nll(const float* logits, int vocab, int target) {
  double max_logit = logits[0];
  for (int i = 1; i < vocab; ++i) max_logit = std::max(max_logit, double(logits[i]));
  double z = 0.0;
  for (int i = 0; i < vocab; ++i) z += std::exp(double(logits[i]) - max_logit);
  return -(double(logits[target]) - max_logit - std::log(z));
}

struct expected_ppl {
  double ppl = 0.0;
  double stderr_ppl = 0.0;
  int chunks = 0;
  int64_t scored = 0;
};

// llama-perplexity recomputed from teacher_forced_logits, one chunk at a time.
expected_ppl recompute(local_engine& engine, const std::string& text, int ctx, int max_chunks) {
  const auto ids = engine.tokenizer().encode(text, true);
  expected_ppl e;
  e.chunks = static_cast<int>(ids.size()) / ctx;
  if (max_chunks > 0) e.chunks = std::min(e.chunks, max_chunks);
  const int vocab = engine.config().vocab_size;
  double sum = 0.0, sum2 = 0.0;
  for (int c = 0; c < e.chunks; ++c) {
    std::vector<int32_t> chunk(ids.begin() + c * ctx, ids.begin() + (c + 1) * ctx);
    chunk[0] = engine.tokenizer().bos_id();
    const auto logits = teacher_forced_logits(engine, chunk);
    for (int p = ctx / 2; p <= ctx - 2; ++p) {
      const double nll = reference_nll(&logits[static_cast<size_t>(p) * vocab], vocab, chunk[p + 1]);
      sum += nll;
      sum2 += nll * nll;
      ++e.scored;
    }
  }
  const double mean = sum / e.scored;
  e.ppl = std::exp(mean);
  e.stderr_ppl = e.ppl * std::sqrt((sum2 / e.scored - mean * mean) / (e.scored - 1));
  return e;
}

void expect_matches_recomputation(local_engine& engine, const std::string& text,
                                  const perplexity_options& o) {
  const auto want = recompute(engine, text, o.context, o.max_chunks);
  const auto got = evaluate_perplexity(engine, text, o);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->num_chunks, want.chunks);
  EXPECT_EQ(got->num_tokens_scored, int64_t{want.chunks} * (o.context - 1 - o.context / 2));
  EXPECT_EQ(got->num_tokens_scored, want.scored);
  EXPECT_EQ(got->num_text_tokens, static_cast<int64_t>(engine.tokenizer().encode(text, true).size()));
  EXPECT_NEAR(got->ppl, want.ppl, 1e-6 * want.ppl);
  EXPECT_NEAR(got->stderr_ppl, want.stderr_ppl, 1e-5 * want.stderr_ppl + 1e-12);
  EXPECT_NEAR(got->mean_nll, std::log(want.ppl), 1e-9 + 1e-6 * std::log(want.ppl));
  EXPECT_GT(got->kv_tokens_attended_per_step, 0.0);
}

TEST(token_nll, equals_the_log_softmax_by_hand) {
  const float logits[] = {1.0f, 2.0f, 3.0f};
  // -log(e^3 / (e^1 + e^2 + e^3)) = log(1 + e^-1 + e^-2)
  EXPECT_NEAR(token_nll(logits, 3, 2), std::log(1.0 + std::exp(-1.0) + std::exp(-2.0)), 1e-12);
  EXPECT_NEAR(token_nll(logits, 3, 0), std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 1.0,
              1e-12);
  const float uniform[] = {0.5f, 0.5f, 0.5f, 0.5f};
  EXPECT_NEAR(token_nll(uniform, 4, 1), std::log(4.0), 1e-12);
}

TEST(token_nll, is_stable_for_large_logits) {
  const float big[] = {1000.0f, 1000.0f};
  EXPECT_NEAR(token_nll(big, 2, 0), std::log(2.0), 1e-12);
  const float skewed[] = {-1000.0f, 1000.0f};
  EXPECT_NEAR(token_nll(skewed, 2, 1), 0.0, 1e-12);
  EXPECT_NEAR(token_nll(skewed, 2, 0), 2000.0, 1e-9);
}

class stories260k_perplexity
    : public ::testing::TestWithParam<std::pair<attention_policy, double>> {};

TEST_P(stories260k_perplexity, teacher_forced_logits_equal_a_manual_step_by_step_decode) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  auto engine = open_stories(GetParam().first, GetParam().second);
  ASSERT_NE(engine, nullptr);
  const auto chunk = first_chunk(*engine, 128);
  const auto got = teacher_forced_logits(*engine, chunk);
  const auto want = manual_decode(*engine, chunk);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], 1e-6f * std::max(1.0f, std::abs(want[i]))) << "element " << i;
}

TEST_P(stories260k_perplexity, evaluate_equals_llama_perplexity_recomputed_per_chunk) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  auto engine = open_stories(GetParam().first, GetParam().second);
  ASSERT_NE(engine, nullptr);
  perplexity_options o;
  o.context = 64;
  o.batch = 3;  // groups of 3, the last one partial
  expect_matches_recomputation(*engine, repeated_story(8), o);
}

INSTANTIATE_TEST_SUITE_P(policies, stories260k_perplexity,
                         ::testing::Values(std::make_pair(attention_policy::dense, 0.0),
                                           std::make_pair(attention_policy::swa, 0.8)),
                         [](const auto& info) {
                           return std::string(scheduler::to_string(info.param.first));
                         });

TEST(stories260k_perplexity_dense, teacher_forced_logits_equal_a_one_shot_prefill) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  auto engine = open_stories();
  ASSERT_NE(engine, nullptr);
  const auto chunk = first_chunk(*engine, 256);
  const auto stepwise = teacher_forced_logits(*engine, chunk);
  auto& runner = engine->runner();
  auto cache = runner.make_cache(static_cast<int>(chunk.size()));
  std::vector<float> prefill;
  gpu::forward_request whole{cache.get(), chunk, true};
  runner.forward({&whole, 1}, prefill);
  ASSERT_EQ(stepwise.size(), prefill.size());
  for (size_t i = 0; i < prefill.size(); ++i)
    ASSERT_NEAR(stepwise[i], prefill[i], 1e-4f * std::max(1.0f, std::abs(prefill[i]))) << "element " << i;
}

TEST(stories260k_perplexity_dense, sparse_attention_reads_fewer_tokens_and_scores_worse) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  perplexity_options o;
  o.context = 128;
  const std::string text = repeated_story(12);
  auto dense = open_stories();
  auto local = open_stories(attention_policy::local, 0.9);
  ASSERT_NE(dense, nullptr);
  ASSERT_NE(local, nullptr);
  const auto d = evaluate_perplexity(*dense, text, o);
  const auto l = evaluate_perplexity(*local, text, o);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_LT(l->kv_tokens_attended_per_step, 0.5 * d->kv_tokens_attended_per_step);
  EXPECT_GT(l->ppl, d->ppl) << "10% of a repeated story cannot predict it as well as all of it";
  EXPECT_GT(d->ppl, 1.0);
  EXPECT_LT(d->ppl, 50.0) << "stories260K on story text should predict well";
}

TEST(perplexity, batching_chunks_does_not_change_the_result) {
  auto engine = open_tiny(attention_policy::swa, 0.5);
  ASSERT_NE(engine, nullptr);
  const std::string text = repeated_story(1);  // byte tokenizer: one token per byte
  perplexity_options o;
  o.context = 32;
  o.batch = 1;
  const auto one = evaluate_perplexity(*engine, text, o);
  o.batch = 5;
  const auto five = evaluate_perplexity(*engine, text, o);
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_TRUE(five.ok()) << five.status();
  EXPECT_EQ(one->num_chunks, five->num_chunks);
  EXPECT_NEAR(one->ppl, five->ppl, 1e-6 * one->ppl);
}

TEST(perplexity, chunk_limit_and_formulas_on_a_synthetic_model) {
  auto engine = open_tiny();
  ASSERT_NE(engine, nullptr);
  const std::string text = repeated_story(1);
  perplexity_options o;
  o.context = 16;
  o.max_chunks = 5;
  o.batch = 2;
  expect_matches_recomputation(*engine, text, o);
  o.max_chunks = 0;
  const auto all = evaluate_perplexity(*engine, text, o);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->num_chunks, static_cast<int>(all->num_text_tokens / 16));
  EXPECT_EQ(all->num_tokens_scored, int64_t{all->num_chunks} * 7);  // 16 - 1 - 8
}

TEST(perplexity, text_shorter_than_two_chunks_is_refused_with_both_counts) {
  auto engine = open_tiny();
  ASSERT_NE(engine, nullptr);
  perplexity_options o;
  o.context = 64;
  const std::string text(100, 'a');  // BOS + 100 bytes = 101 tokens < 128
  const auto r = evaluate_perplexity(*engine, text, o);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(r.status().message());
  EXPECT_NE(message.find("101"), std::string::npos) << message;
  EXPECT_NE(message.find("128"), std::string::npos) << message;
}

TEST(perplexity, context_out_of_range_is_refused) {
  auto engine = open_tiny();
  ASSERT_NE(engine, nullptr);
  const std::string text = repeated_story(4);
  for (int ctx : {3, 0, engine->config().max_position_embeddings + 1}) {
    perplexity_options o;
    o.context = ctx;
    const auto r = evaluate_perplexity(*engine, text, o);
    ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << ctx;
    EXPECT_NE(std::string(r.status().message()).find("ctx " + std::to_string(ctx)), std::string::npos)
        << r.status();
  }
}

}  // namespace
}  // namespace alisa::engine
