// Real-weight checks against the expected outputs in shared/models/stories260K*/PROVENANCE.md.
// They test the loaders and tests/support/reference_forward.hpp together.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include <gtest/gtest.h>

#include "model/load_model.hpp"
#include "tests/support/reference_forward.hpp"
#include "tests/support/shared_models.hpp"

namespace alisa::model {
namespace {

using alisa::testing::reference_forward;
using alisa::testing::shared_model_path;

std::vector<std::pair<int, double>> top5(const std::vector<double>& logits) {
  std::vector<int> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::partial_sort(ids.begin(), ids.begin() + 5, ids.end(), [&](int a, int b) { return logits[a] > logits[b]; });
  std::vector<std::pair<int, double>> out;
  for (int i = 0; i < 5; ++i) out.emplace_back(ids[i], logits[static_cast<size_t>(ids[i])]);
  return out;
}

void expect_top5(const std::vector<double>& logits, const std::vector<std::pair<int, double>>& expected) {
  const auto got = top5(logits);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(got[i].first, expected[i].first) << "rank " << i;
    EXPECT_NEAR(got[i].second, expected[i].second, 1e-4 * std::abs(expected[i].second)) << "rank " << i;
  }
}

void expect_stories_config(const model_config& c) {
  EXPECT_EQ(c.arch, architecture::llama);
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.intermediate_size, 172);
  EXPECT_EQ(c.num_layers, 5);
  EXPECT_EQ(c.num_heads, 8);
  EXPECT_EQ(c.num_kv_heads, 4);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.max_position_embeddings, 512);
  EXPECT_FLOAT_EQ(c.norm_eps, 1e-5f);
  EXPECT_FLOAT_EQ(c.rope_theta, 10000.0f);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_EQ(c.eos_token_id, 2);
}

const std::vector<std::pair<int, double>> kPosition0 = {{403, 17.0235}, {385, 15.4062}, {410, 13.1083},
                                                        {317, 12.7692}, {407, 12.4181}};
const std::vector<std::pair<int, double>> kPosition1 = {{407, 18.46}, {383, 14.2911}, {261, 10.898},
                                                        {403, 10.6621}, {432, 10.3138}};

TEST(Stories260K, LlamaCBinMatchesProvenance) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  auto w = load_model(shared_model_path("stories260K/stories260K.bin"));
  ASSERT_TRUE(w.ok()) << w.status();
  expect_stories_config(w->config);
  EXPECT_EQ(w->config.rope, rope_layout::interleaved);
  EXPECT_EQ(w->num_parameters(), 260032u);
  EXPECT_EQ(w->lm_head.data, w->token_embedding.data);
  const auto logits = reference_forward(*w, {1, 403});
  expect_top5(logits[0], kPosition0);
  expect_top5(logits[1], kPosition1);
}

TEST(Stories260K, HfDirectoryMatchesProvenance) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K-hf/model.safetensors");
  auto w = load_model(shared_model_path("stories260K-hf"));
  ASSERT_TRUE(w.ok()) << w.status();
  expect_stories_config(w->config);
  EXPECT_EQ(w->config.rope, rope_layout::rotate_half);
  EXPECT_EQ(w->num_parameters(), 260032u);
  const auto logits = reference_forward(*w, {1, 403});
  expect_top5(logits[0], kPosition0);
  expect_top5(logits[1], kPosition1);
}

TEST(Stories260K, BothFormatsGiveTheSameLogits) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  ALISA_REQUIRE_SHARED_MODEL("stories260K-hf/model.safetensors");
  auto bin = load_model(shared_model_path("stories260K/stories260K.bin"));
  auto hf = load_model(shared_model_path("stories260K-hf"));
  ASSERT_TRUE(bin.ok() && hf.ok());
  const std::vector<int> tokens = {1, 403, 407, 261, 378};
  const auto a = reference_forward(*bin, tokens), b = reference_forward(*hf, tokens);
  for (size_t p = 0; p < tokens.size(); ++p) {
    for (size_t i = 0; i < a[p].size(); ++i) ASSERT_NEAR(a[p][i], b[p][i], 1e-6) << "pos " << p << " id " << i;
  }
}

TEST(Stories260K, GreedyDecodeReproducesProvenancePrefix) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  auto w = load_model(shared_model_path("stories260K/stories260K.bin"));
  ASSERT_TRUE(w.ok());
  const std::vector<int> expected = {403, 407, 261, 378, 432, 383, 286, 261};
  std::vector<int> tokens = {1};
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto logits = reference_forward(*w, tokens).back();
    tokens.push_back(static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin()));
  }
  EXPECT_EQ(std::vector<int>(tokens.begin() + 1, tokens.end()), expected);
}

}  // namespace
}  // namespace alisa::model
