// Logit processing before the pick: repetition, presence and frequency penalties, min_p, and the
// reported log-probabilities, against hand-computed values.
#include "gpu/logit_processing.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace alisa::gpu {
namespace {

TEST(LogitProcessing, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOfSeenTokens) {
  std::vector<float> logits = {2.0f, -1.0f, 3.0f, 1.0f};
  sampling_params p;
  p.repetition_penalty = 2.0f;
  const std::vector<int32_t> prompt = {0}, generated = {1, 1};
  apply_penalties(logits, p, prompt, generated);
  EXPECT_EQ(logits, (std::vector<float>{1.0f, -2.0f, 3.0f, 1.0f}));
}

TEST(LogitProcessing, PresenceAndFrequencyPenaltiesCountOnlyGeneratedTokens) {
  std::vector<float> logits = {0.0f, 0.0f, 0.0f};
  sampling_params p;
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.25f;
  const std::vector<int32_t> prompt = {2, 2}, generated = {0, 0, 0, 1};
  apply_penalties(logits, p, prompt, generated);
  EXPECT_FLOAT_EQ(logits[0], -(0.5f + 3 * 0.25f));
  EXPECT_FLOAT_EQ(logits[1], -(0.5f + 0.25f));
  EXPECT_FLOAT_EQ(logits[2], 0.0f) << "prompt tokens are not penalised by presence/frequency";
}

TEST(LogitProcessing, MinPRemovesTokensBelowItsShareOfTheTopProbability) {
  sampling_params p;
  p.temperature = 1.0f;
  p.min_p = 0.1f;
  // Probabilities relative to the top: exp(0) = 1, exp(-2) = 0.135, exp(-3) = 0.0498.
  std::vector<float> logits = {5.0f, 3.0f, 2.0f};
  apply_min_p(logits, p);
  EXPECT_EQ(logits[0], 5.0f);
  EXPECT_EQ(logits[1], 3.0f);
  EXPECT_EQ(logits[2], -std::numeric_limits<float>::infinity());
  std::vector<float> greedy = {5.0f, 3.0f, 2.0f};
  p.temperature = 0.0f;
  apply_min_p(greedy, p);
  EXPECT_EQ(greedy[2], 2.0f) << "greedy picks are not affected";
}

TEST(LogitProcessing, LogProbabilitiesAreLogSoftmaxWithTheTopTokensInOrder) {
  const std::vector<float> logits = {1.0f, 3.0f, 2.0f, 3.0f};
  const token_logprob lp = log_probabilities(logits, 2, 3);
  double z = 0;
  for (float l : logits) z += std::exp(double(l));
  EXPECT_NEAR(lp.logprob, 2.0 - std::log(z), 1e-6);
  EXPECT_EQ(lp.token_id, 2);
  EXPECT_EQ(lp.top_ids, (std::vector<int32_t>{1, 3, 2})) << "ties go to the lower id";
  EXPECT_NEAR(lp.top_logprobs[0], 3.0 - std::log(z), 1e-6);
}

}  // namespace
}  // namespace alisa::gpu
