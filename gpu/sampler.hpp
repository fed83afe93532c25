#pragma once
// sampler — picks the next token from a row of logits according to sampling_params.
// Greedy when temperature == 0 (ties -> lowest id); otherwise softmax(logits / T) restricted to
// the top_k most likely tokens and then to the smallest prefix whose mass reaches top_p, drawn
// with a per-sampler RNG seeded from params.seed, so the same seed gives the same tokens.
// Each stochastic step draws one u = generate_canonical<double, 53>(rng) and returns
// pick_token(logits, params, u) (gpu/selection_reference.hpp), so backend::sample_token fed the
// same u picks the same token; greedy steps draw nothing.
// One sampler per sequence; not thread-safe.
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "gpu/selection_reference.hpp"
#include "proto/sampling_params.hpp"

namespace alisa::gpu {

class sampler {
 public:
  explicit sampler(const sampling_params& params);
  int sample(std::span<const float> logits);
  // The uniform draw in [0, 1) the next stochastic sample() would use (advances the RNG). For
  // callers that sample on a backend: backend::sample_token(logits, vocab, params, next_draw());
  // greedy params (temperature 0) need no draw.
  double next_draw();

 private:
  sampling_params params_;
  std::mt19937_64 rng_;
  pick_scratch scratch_;  // reused between calls
};

int argmax(std::span<const float> logits);

}  // namespace alisa::gpu
