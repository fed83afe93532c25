#pragma once
// selection_reference — the host definitions of token selection: top-k indices and sampling one
// token from logits for a given uniform draw. backend::top_k / backend::sample_token (backend.hpp)
// must give exactly these answers; sampler (sampler.hpp) is pick_token fed from its seeded RNG.
//
// Ordering: candidates are ranked by (value descending, index ascending), so ties go to the lower
// index. Non-finite inputs never cause undefined behaviour:
// - NaN ranks as -inf (selection_key), below every number and tied with -inf by index;
// - -0.0 and +0.0 are equal;
// - pick_token's softmax is computed relative to the largest kept logit; when that is +/-inf the
//   probabilities are NaN, no draw is below their running sum and the last kept candidate is
//   returned (as the original sampler did). Greedy still returns the (first) largest.
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "proto/sampling_params.hpp"

namespace alisa::gpu {

// The value a score is ranked by: NaN -> -inf, everything else unchanged.
inline float selection_key(float x) {
  return std::isnan(x) ? -std::numeric_limits<float>::infinity() : x;
}

// Indices of the k largest of scores (ties: lower index first), in ascending index order.
// Throws std::invalid_argument unless 0 < k <= scores.size().
std::vector<int32_t> top_k_indices(std::span<const float> scores, int k);

// Reusable host memory for pick_token (one per caller; not shared between threads).
struct pick_scratch {
  std::vector<int32_t> order;  // candidate ids
  std::vector<float> keys;     // their selection keys, in the same order
  std::vector<double> probs;   // their unnormalised probabilities
};

// The token `p` picks from logits for the uniform draw u in [0, 1):
// - temperature == 0: greedy, the largest logit (lowest id among ties); u is ignored;
// - otherwise: the top_k (0 = all) candidates by (logit desc, id asc); probabilities
//   exp((l - max) / T) in double; top_p keeps the shortest prefix whose normalised mass reaches
//   top_p (at least one); r = u * kept_total; the first candidate whose running sum exceeds r
//   (the last kept one if rounding leaves none).
// Expects validate(p) to hold. Throws std::invalid_argument when logits is empty.
int32_t pick_token(std::span<const float> logits, const sampling_params& p, double u);
int32_t pick_token(std::span<const float> logits, const sampling_params& p, double u,
                   pick_scratch& scratch);

// The scalar tail of stochastic pick_token once the kept candidates are ranked: keys[i] is the
// selection key of candidate ids[i], in (key desc, id asc) order, keys.size() == ids.size() =
// min(top_k or vocab, vocab) > 0. Shared by the host reference and the CUDA backend (which ranks on
// the device and finishes here) so both do literally the same arithmetic. probs is scratch.
int32_t pick_from_ranked(std::span<const float> keys, std::span<const int32_t> ids,
                         const sampling_params& p, double u, std::vector<double>& probs);

// How many candidates stochastic sampling keeps before top_p: min(top_k, vocab), or vocab when
// top_k == 0.
inline int kept_candidates(const sampling_params& p, int vocab) {
  return p.top_k > 0 && p.top_k < vocab ? p.top_k : vocab;
}

}  // namespace alisa::gpu
