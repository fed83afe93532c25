#pragma once
// sampler — picks the next token from a row of logits according to sampling_params.
// Greedy when temperature == 0 (ties -> lowest id); otherwise softmax(logits / T) restricted to
// the top_k most likely tokens and then to the smallest prefix whose mass reaches top_p, drawn
// with a per-sampler RNG seeded from params.seed, so the same seed gives the same tokens.
// One sampler per sequence; not thread-safe.
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "proto/sampling_params.hpp"

namespace alisa::gpu {

class sampler {
 public:
  explicit sampler(const sampling_params& params);
  int sample(std::span<const float> logits);

 private:
  int sample_stochastic(std::span<const float> logits);
  sampling_params params_;
  std::mt19937_64 rng_;
  std::vector<int> order_;     // candidate ids, reused between calls
  std::vector<double> probs_;  // their probabilities
};

int argmax(std::span<const float> logits);

}  // namespace alisa::gpu
