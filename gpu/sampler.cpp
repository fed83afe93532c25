#include "gpu/sampler.hpp"

#include <algorithm>

namespace alisa::gpu {

int argmax(std::span<const float> logits) {
  return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

sampler::sampler(const sampling_params& params) : params_(params), rng_(params.seed) {}

double sampler::next_draw() { return std::generate_canonical<double, 53>(rng_); }

int sampler::sample(std::span<const float> logits) {
  // Greedy consumes no draw, so a sequence's stochastic tokens do not depend on greedy steps.
  const double u = params_.temperature == 0.0f ? 0.0 : next_draw();
  return pick_token(logits, params_, u, scratch_);
}

}  // namespace alisa::gpu
