// swa_selector — Sparse Window Attention (see the header).
#include "scheduler/swa_selector.hpp"

#include <algorithm>
#include <numeric>
#include <span>

#include "scheduler/selection_helpers.hpp"

namespace alisa::scheduler {
namespace {

// The k positions in [0, end) with the largest score (ties: the older), ascending, written to the
// front of `out`. O(end + k log k): a partial selection, not a sort of every position.
void top_scoring(std::span<const double> score, int end, int k, std::vector<int32_t>& scratch,
                 std::span<int32_t> out) {
  if (k <= 0) return;
  scratch.resize(end);
  std::iota(scratch.begin(), scratch.end(), 0);
  auto higher = [&](int32_t a, int32_t b) {
    return score[a] != score[b] ? score[a] > score[b] : a < b;
  };
  std::nth_element(scratch.begin(), scratch.begin() + (k - 1), scratch.end(), higher);
  std::sort(scratch.begin(), scratch.begin() + k);
  std::copy(scratch.begin(), scratch.begin() + k, out.begin());
}

}  // namespace

swa_selector::swa_selector(const selection_options& options, int num_layers)
    : options_(options), layers_(num_layers) {}

int swa_selector::window_for(int num_visible) const {
  return options_.window > 0 ? options_.window
                             : recent_half(token_budget(options_, num_visible));
}

void swa_selector::select(int layer, int num_visible, token_set& out) {
  windowed_scores& scores = layers_[layer];
  scores.extend_to(num_visible);
  // Expire old steps even while dense, so the scores are right when selection starts.
  scores.keep_last(window_for(num_visible));
  const int budget = token_budget(options_, num_visible);
  if (budget >= num_visible) {
    out.set_dense();
    return;
  }
  // Top-k runs over the positions older than the recent run, so the two never overlap and the
  // set has exactly budget distinct positions (budget < n leaves enough older ones).
  const int recent = recent_half(budget);
  const int first_recent = num_visible - recent;
  const int num_global = budget - recent;
  std::span<int32_t> positions = make_sparse(out, 1, budget);
  top_scoring(scores.scores(), first_recent, num_global, candidates_, positions);
  std::iota(positions.begin() + num_global, positions.end(), first_recent);
}

mass_request swa_selector::wanted_mass(int layer, int num_rows) const {
  if (num_rows <= 0) return {};
  if (num_rows == 1) return {1, false};
  // A multi-row (prefill) step: its last row sees the positions known so far plus its own rows.
  const int last_row_visible = layers_[layer].num_positions() + num_rows;
  return {std::min(num_rows, window_for(last_row_visible)), true};
}

int swa_selector::prefill_tail_rows(int prompt_rows) const {
  return std::min(prompt_rows, window_for(prompt_rows));
}

void swa_selector::begin_prefill_tail(int num_prefix) {
  for (auto& scores : layers_) scores.extend_to(num_prefix);
}

void swa_selector::observe(int layer, const token_set& set, const attention_mass& mass) {
  layers_[layer].add_step(set, mass);
}

}  // namespace alisa::scheduler
