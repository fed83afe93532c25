#pragma once
// h2o_selector — H2O (Heavy-Hitter Oracle) at SWA's budget: per (layer, kv head) a kept set
// (heavy_hitters). Each select() admits every position never seen before (the query, or a whole
// prefill), then, while the set exceeds budget(n), evicts for good the lowest-scoring kept position
// older than the protected recent_half(budget) most recent ones (ties: the older). Scores add up
// every mass row observed for the kv head (prefill rows summed, each decode row), never decaying.
// Output: num_lists = num_kv_heads lists of the same size (every head evicts the same count);
// dense while nothing has been evicted, i.e. while budget(n) == n.
#include <vector>

#include "scheduler/heavy_hitters.hpp"
#include "scheduler/token_selector.hpp"

namespace alisa::scheduler {

class h2o_selector final : public token_selector {
 public:
  // Precondition: options valid, num_layers >= 1, num_kv_heads >= 1.
  h2o_selector(const selection_options& options, int num_layers, int num_kv_heads);

  void select(int layer, int num_visible, token_set& out) override;
  mass_request wanted_mass(int layer, int num_rows) const override;
  void observe(int layer, const token_set& set, const attention_mass& mass) override;

  // One kv head's state (for tests and diagnostics).
  const heavy_hitters& head(int layer, int kv_head) const { return layers_[layer][kv_head]; }

 private:
  selection_options options_;
  std::vector<std::vector<heavy_hitters>> layers_;  // [layer][kv head]
};

}  // namespace alisa::scheduler
