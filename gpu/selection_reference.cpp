#include "gpu/selection_reference.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

namespace alisa::gpu {
namespace {

// (key desc, index asc): a strict weak order even with NaN in the input (NaN ranks as -inf).
struct by_rank {
  std::span<const float> values;
  bool operator()(int32_t a, int32_t b) const {
    const float ka = selection_key(values[static_cast<size_t>(a)]);
    const float kb = selection_key(values[static_cast<size_t>(b)]);
    return ka > kb || (ka == kb && a < b);
  }
};

}  // namespace

std::vector<int32_t> top_k_indices(std::span<const float> scores, int k) {
  if (k <= 0 || static_cast<size_t>(k) > scores.size())
    throw std::invalid_argument("top_k: k must be in [1, " + std::to_string(scores.size()) +
                                "] (the number of scores), got " + std::to_string(k));
  std::vector<int32_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), by_rank{scores});
  order.resize(static_cast<size_t>(k));
  std::sort(order.begin(), order.end());
  return order;
}

int32_t pick_from_ranked(std::span<const float> keys, std::span<const int32_t> ids,
                         const sampling_params& p, double u, std::vector<double>& probs) {
  if (keys.empty() || keys.size() != ids.size())
    throw std::invalid_argument("pick_from_ranked: need as many ids as keys, at least one");
  const size_t keep = keys.size();
  probs.resize(keep);
  const double max_logit = keys[0];
  double total = 0.0;
  for (size_t i = 0; i < keep; ++i) {
    probs[i] = std::exp((keys[i] - max_logit) / p.temperature);
    total += probs[i];
  }
  // Nucleus: the smallest prefix whose probability mass reaches top_p (always >= 1 token).
  size_t cut = keep;
  if (p.top_p < 1.0f) {
    double mass = 0.0;
    for (size_t i = 0; i < keep; ++i) {
      mass += probs[i] / total;
      if (mass >= p.top_p) {
        cut = i + 1;
        break;
      }
    }
  }
  const double kept_total = std::accumulate(probs.begin(), probs.begin() + cut, 0.0);
  // Equals std::uniform_real_distribution<double>(0, kept_total) fed the same canonical draw
  // (libstdc++ computes it as canonical * (b - a) + a).
  const double r = u * kept_total;
  double acc = 0.0;
  for (size_t i = 0; i < cut; ++i) {
    acc += probs[i];
    if (r < acc) return ids[i];
  }
  return ids[cut - 1];
}

int32_t pick_token(std::span<const float> logits, const sampling_params& p, double u) {
  pick_scratch scratch;
  return pick_token(logits, p, u, scratch);
}

int32_t pick_token(std::span<const float> logits, const sampling_params& p, double u,
                   pick_scratch& scratch) {
  if (logits.empty()) throw std::invalid_argument("pick_token: no logits (vocab is empty)");
  const int vocab = static_cast<int>(logits.size());
  if (p.temperature == 0.0f) {
    // Greedy: the first maximum of the keys (strict > keeps the lowest id on ties).
    int32_t best = 0;
    float best_key = selection_key(logits[0]);
    for (int i = 1; i < vocab; ++i) {
      const float key = selection_key(logits[static_cast<size_t>(i)]);
      if (key > best_key) {
        best_key = key;
        best = i;
      }
    }
    return best;
  }
  auto& order = scratch.order;
  order.resize(static_cast<size_t>(vocab));
  std::iota(order.begin(), order.end(), 0);
  // Only the top_k candidates need sorting; the ordering makes top-p a prefix.
  const int keep = kept_candidates(p, vocab);
  std::partial_sort(order.begin(), order.begin() + keep, order.end(), by_rank{logits});
  order.resize(static_cast<size_t>(keep));
  scratch.keys.resize(static_cast<size_t>(keep));
  for (int i = 0; i < keep; ++i)
    scratch.keys[static_cast<size_t>(i)] =
        selection_key(logits[static_cast<size_t>(order[static_cast<size_t>(i)])]);
  return pick_from_ranked(scratch.keys, order, p, u, scratch.probs);
}

}  // namespace alisa::gpu
