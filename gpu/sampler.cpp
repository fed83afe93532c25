#include "gpu/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace alisa::gpu {

int argmax(std::span<const float> logits) {
  return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

sampler::sampler(const sampling_params& params) : params_(params), rng_(params.seed) {}

int sampler::sample(std::span<const float> logits) {
  if (params_.temperature == 0.0f) return argmax(logits);
  return sample_stochastic(logits);
}

int sampler::sample_stochastic(std::span<const float> logits) {
  const int vocab = static_cast<int>(logits.size());
  order_.resize(vocab);
  std::iota(order_.begin(), order_.end(), 0);
  // Only the top_k candidates need sorting; the ordering makes top-p a prefix.
  const int keep = params_.top_k > 0 ? std::min(params_.top_k, vocab) : vocab;
  auto by_logit = [&](int a, int b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  std::partial_sort(order_.begin(), order_.begin() + keep, order_.end(), by_logit);
  order_.resize(keep);

  probs_.resize(keep);
  const double max_logit = logits[order_[0]];
  double total = 0.0;
  for (int i = 0; i < keep; ++i) {
    probs_[i] = std::exp((logits[order_[i]] - max_logit) / params_.temperature);
    total += probs_[i];
  }
  // Nucleus: the smallest prefix whose probability mass reaches top_p (always >= 1 token).
  int cut = keep;
  if (params_.top_p < 1.0f) {
    double mass = 0.0;
    for (int i = 0; i < keep; ++i) {
      mass += probs_[i] / total;
      if (mass >= params_.top_p) {
        cut = i + 1;
        break;
      }
    }
  }
  const double kept_total = std::accumulate(probs_.begin(), probs_.begin() + cut, 0.0);
  const double r = std::uniform_real_distribution<double>(0.0, kept_total)(rng_);
  double acc = 0.0;
  for (int i = 0; i < cut; ++i) {
    acc += probs_[i];
    if (r < acc) return order_[i];
  }
  return order_[cut - 1];
}

}  // namespace alisa::gpu
