#include "gpu/logit_processing.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_map>

namespace alisa::gpu {
namespace {

bool in_vocab(int32_t id, size_t vocab) { return id >= 0 && static_cast<size_t>(id) < vocab; }

}  // namespace

void apply_penalties(std::span<float> logits, const sampling_params& p,
                     std::span<const int32_t> prompt, std::span<const int32_t> generated) {
  if (p.repetition_penalty != 1.0f) {
    std::vector<bool> seen(logits.size(), false);
    for (auto ids : {prompt, generated})
      for (int32_t id : ids)
        if (in_vocab(id, logits.size())) seen[static_cast<size_t>(id)] = true;
    for (size_t t = 0; t < logits.size(); ++t)
      if (seen[t])
        logits[t] = logits[t] > 0.0f ? logits[t] / p.repetition_penalty
                                     : logits[t] * p.repetition_penalty;
  }
  if (p.presence_penalty == 0.0f && p.frequency_penalty == 0.0f) return;
  std::unordered_map<int32_t, int> counts;
  for (int32_t id : generated)
    if (in_vocab(id, logits.size())) ++counts[id];
  for (const auto& [id, n] : counts)
    logits[static_cast<size_t>(id)] -= p.presence_penalty + p.frequency_penalty * float(n);
}

void apply_min_p(std::span<float> logits, const sampling_params& p) {
  if (p.temperature == 0.0f || p.min_p <= 0.0f || logits.empty()) return;
  const float top = *std::max_element(logits.begin(), logits.end());
  // p_i / p_top = exp((l_i - l_top) / T) < min_p  <=>  l_i < l_top + T * ln(min_p)
  const float floor = top + p.temperature * std::log(p.min_p);
  for (float& l : logits)
    if (l < floor) l = -std::numeric_limits<float>::infinity();
}

token_logprob log_probabilities(std::span<const float> logits, int32_t chosen, int top) {
  token_logprob out;
  out.token_id = chosen;
  if (logits.empty()) return out;
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (float l : logits) sum += std::exp(static_cast<double>(l) - max);
  const double log_z = static_cast<double>(max) + std::log(sum);
  auto logprob = [&](size_t i) { return static_cast<float>(double(logits[i]) - log_z); };
  if (in_vocab(chosen, logits.size())) out.logprob = logprob(static_cast<size_t>(chosen));
  const size_t k = std::min(static_cast<size_t>(std::max(top, 0)), logits.size());
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                    [&](int32_t a, int32_t b) {
                      const float la = logits[static_cast<size_t>(a)];
                      const float lb = logits[static_cast<size_t>(b)];
                      return la > lb || (la == lb && a < b);
                    });
  for (size_t i = 0; i < k; ++i) {
    out.top_ids.push_back(order[i]);
    out.top_logprobs.push_back(logprob(static_cast<size_t>(order[i])));
  }
  return out;
}

}  // namespace alisa::gpu
