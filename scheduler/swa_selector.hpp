#pragma once
// swa_selector — ALISA's Sparse Window Attention: per layer, one token set shared by every head:
// the recent_half(budget) most recent positions plus the rest of the budget taken from the older
// positions with the largest windowed attention mass (windowed_scores), ties to the older one.
// Nothing is evicted: every step reselects from all positions.
//
// Window W: options.window when > 0, else recent_half(budget(n)) at the current step, so with the
// default it grows with n. Every observe() is one ring entry; entries beyond the W most recent are
// dropped before selecting. A dense multi-row prefill reports the sum of its last W rows (W for
// its last row), which enters as ONE entry and so leaves once W decode steps have been observed
// after it — an approximation of its rows leaving one by one.
#include <cstdint>
#include <vector>

#include "scheduler/token_selector.hpp"
#include "scheduler/windowed_scores.hpp"

namespace alisa::scheduler {

class swa_selector final : public token_selector {
 public:
  // Precondition: options valid, num_layers >= 1.
  swa_selector(const selection_options& options, int num_layers);

  void select(int layer, int num_visible, token_set& out) override;
  mass_request wanted_mass(int layer, int num_rows) const override;
  void observe(int layer, const token_set& set, const attention_mass& mass) override;
  // Chunked prefill: the last W rows (W for the prompt's last row) carry all the mass a whole
  // prompt reports, so they must run together; the positions before them are made known first.
  int prefill_tail_rows(int prompt_rows) const override;
  void begin_prefill_tail(int num_prefix) override;

  // The layer's current scores (for tests and diagnostics).
  const windowed_scores& scores(int layer) const { return layers_[layer]; }

 private:
  // W for a query that sees num_visible positions.
  int window_for(int num_visible) const;

  selection_options options_;
  std::vector<windowed_scores> layers_;
  std::vector<int32_t> candidates_;  // select() scratch
};

}  // namespace alisa::scheduler
