// The whole engine (loader + tokenizer + CPU backend + forward pass + sampler) against the real
// stories260K weights: greedy ids and logits listed in ../shared/models/stories260K/PROVENANCE.md.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "engine/local_engine.hpp"
#include "gpu/sampler.hpp"
#include "tests/support/shared_models.hpp"

namespace alisa::engine {
namespace {

const std::vector<int> kExpectedIds = {
    403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338,
    401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385,
    328, 432, 358, 394, 261, 370, 432, 352, 266, 268, 388, 426, 338, 391, 266, 267,
    337, 335, 312, 432, 398, 312, 286, 267, 414, 270, 333, 415, 426, 13,  438, 310};
const char* kExpectedText =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
    "One day, she saw a big, red ball. She wanted to play with it, but it was too high.\nLily";

struct format_case {
  const char* model;  // relative to ../shared/models
  const char* name;
};

std::unique_ptr<local_engine> open_stories(const std::string& model, dtype type = dtype::f32,
                                           int threads = 0) {
  engine_options o;
  o.model = testing::shared_model_path(model);
  o.tokenizer = testing::shared_model_path("stories260K/tok512.bin");
  o.weight_type = type;
  o.num_threads = threads;
  auto engine = local_engine::open(o);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? std::move(*engine) : nullptr;
}

sampling_params greedy(int n) {
  sampling_params p;
  p.max_tokens = n;
  return p;
}

class stories260k : public ::testing::TestWithParam<format_case> {
 protected:
  std::unique_ptr<local_engine> open(dtype type = dtype::f32, int threads = 0) {
    return open_stories(GetParam().model, type, threads);
  }
};

std::vector<std::pair<int, float>> top5(const std::vector<float>& logits) {
  std::vector<int> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::partial_sort(ids.begin(), ids.begin() + 5, ids.end(),
                    [&](int a, int b) { return logits[a] > logits[b]; });
  std::vector<std::pair<int, float>> out;
  for (int i = 0; i < 5; ++i) out.emplace_back(ids[i], logits[ids[i]]);
  return out;
}

void expect_top5(const std::vector<float>& logits, const std::vector<std::pair<int, float>>& want) {
  const auto got = top5(logits);
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].first, want[i].first) << "rank " << i;
    EXPECT_NEAR(got[i].second, want[i].second, 1e-4 * std::abs(want[i].second)) << "rank " << i;
  }
}

TEST_P(stories260k, greedy_from_bos_reproduces_the_64_reference_ids_and_text) {
  ALISA_REQUIRE_SHARED_MODEL(GetParam().model);
  for (int threads : {1, 2}) {
    auto engine = open(dtype::f32, threads);
    ASSERT_NE(engine, nullptr);
    auto prompt = engine->encode_prompt("");
    ASSERT_TRUE(prompt.ok());
    ASSERT_EQ(*prompt, std::vector<int>{1});
    const auto result = engine->generate(*prompt, greedy(64));
    EXPECT_EQ(result.token_ids, kExpectedIds) << "threads=" << threads;
    EXPECT_EQ(result.text, kExpectedText);
  }
}

TEST_P(stories260k, position_0_and_1_logits_match_the_reference_top5) {
  ALISA_REQUIRE_SHARED_MODEL(GetParam().model);
  auto engine = open();
  ASSERT_NE(engine, nullptr);
  auto& runner = engine->runner();
  auto cache = runner.make_cache();
  std::vector<float> logits;
  const int32_t bos = 1, first = 403;
  gpu::forward_request r0{cache.get(), {&bos, 1}, false};
  runner.forward({&r0, 1}, logits);
  expect_top5(logits, {{403, 17.0235f}, {385, 15.4062f}, {410, 13.1083f}, {317, 12.7692f}, {407, 12.4181f}});
  gpu::forward_request r1{cache.get(), {&first, 1}, false};
  runner.forward({&r1, 1}, logits);
  expect_top5(logits, {{407, 18.46f}, {383, 14.2911f}, {261, 10.898f}, {403, 10.6621f}, {432, 10.3138f}});
}

TEST_P(stories260k, prefill_of_a_prompt_equals_feeding_it_token_by_token) {
  ALISA_REQUIRE_SHARED_MODEL(GetParam().model);
  auto engine = open();
  ASSERT_NE(engine, nullptr);
  auto& runner = engine->runner();
  std::vector<int32_t> prompt(kExpectedIds.begin(), kExpectedIds.begin() + 40);
  prompt.insert(prompt.begin(), 1);
  auto batched = runner.make_cache();
  std::vector<float> all;
  gpu::forward_request whole{batched.get(), prompt, true};
  runner.forward({&whole, 1}, all);
  auto stepwise = runner.make_cache();
  std::vector<float> one;
  const int vocab = runner.config().vocab_size;
  for (size_t i = 0; i < prompt.size(); ++i) {
    gpu::forward_request r{stepwise.get(), {&prompt[i], 1}, false};
    runner.forward({&r, 1}, one);
    for (int v = 0; v < vocab; ++v)
      ASSERT_NEAR(one[v], all[i * vocab + v], 1e-4f * std::max(1.0f, std::abs(one[v])))
          << "position " << i << " token " << v;
  }
}

TEST_P(stories260k, prompts_continue_with_the_same_greedy_text_in_a_batch_and_alone) {
  ALISA_REQUIRE_SHARED_MODEL(GetParam().model);
  auto engine = open();
  ASSERT_NE(engine, nullptr);
  const std::vector<std::string> prompts = {"Once upon a time", "The cat sat", "Lily and Tom went to"};
  std::vector<std::vector<int>> alone;
  for (const auto& p : prompts) {
    auto ids = engine->generate(*engine->encode_prompt(p), greedy(30)).token_ids;
    alone.push_back(ids);
  }
  // Batched: all three sequences share every forward step.
  auto& runner = engine->runner();
  std::vector<std::unique_ptr<gpu::dense_kv_cache>> caches;
  std::vector<std::vector<int32_t>> next;
  for (const auto& p : prompts) {
    caches.push_back(runner.make_cache());
    auto ids = *engine->encode_prompt(p);
    next.emplace_back(ids.begin(), ids.end());
  }
  std::vector<std::vector<int>> generated(prompts.size());
  std::vector<float> logits;
  const int vocab = runner.config().vocab_size;
  for (int step = 0; step < 30; ++step) {
    std::vector<gpu::forward_request> reqs;
    for (size_t i = 0; i < prompts.size(); ++i) reqs.push_back({caches[i].get(), next[i], false});
    runner.forward(reqs, logits);
    for (size_t i = 0; i < prompts.size(); ++i) {
      const int id = gpu::argmax({logits.data() + i * vocab, static_cast<size_t>(vocab)});
      generated[i].push_back(id);
      next[i].assign(1, id);
    }
  }
  for (size_t i = 0; i < prompts.size(); ++i) {
    generated[i].resize(alone[i].size());  // `alone` stopped at EOS, if any
    EXPECT_EQ(generated[i], alone[i]) << prompts[i];
  }
}

TEST_P(stories260k, bf16_and_fp16_weights_stay_close_to_fp32) {
  ALISA_REQUIRE_SHARED_MODEL(GetParam().model);
  auto ref = open(dtype::f32);
  ASSERT_NE(ref, nullptr);
  const auto want = ref->generate({1}, greedy(20)).token_ids;
  for (dtype type : {dtype::bf16, dtype::f16}) {
    auto engine = open(type);
    ASSERT_NE(engine, nullptr);
    const auto got = engine->generate({1}, greedy(20)).token_ids;
    ASSERT_GE(got.size(), 10u);
    // Reduced-precision weights may flip a late near-tie; the opening must agree.
    EXPECT_TRUE(std::equal(want.begin(), want.begin() + 10, got.begin())) << to_string(type);
  }
}

INSTANTIATE_TEST_SUITE_P(formats, stories260k,
                         ::testing::Values(format_case{"stories260K/stories260K.bin", "llama2c"},
                                           format_case{"stories260K-hf", "hf"}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(stories260k_formats, both_formats_give_the_same_greedy_text_for_the_same_prompts) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K-hf");
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  std::vector<std::string> texts[2];
  const char* models[2] = {"stories260K/stories260K.bin", "stories260K-hf"};
  for (int m = 0; m < 2; ++m) {
    auto engine = open_stories(models[m]);
    ASSERT_NE(engine, nullptr);
    for (const char* p : {"Once upon a time", "Tom had a red ball", "Sue was sad because"})
      texts[m].push_back(engine->generate(*engine->encode_prompt(p), greedy(40)).text);
  }
  EXPECT_EQ(texts[0], texts[1]);
  EXPECT_FALSE(texts[0][0].empty());
}

}  // namespace
}  // namespace alisa::engine
