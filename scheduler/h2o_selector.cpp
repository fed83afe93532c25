// h2o_selector — H2O with permanent eviction (see the header).
#include "scheduler/h2o_selector.hpp"

#include <algorithm>
#include <span>

#include "scheduler/selection_helpers.hpp"

namespace alisa::scheduler {

h2o_selector::h2o_selector(const selection_options& options, int num_layers, int num_kv_heads)
    : options_(options),
      layers_(num_layers, std::vector<heavy_hitters>(num_kv_heads)) {}

void h2o_selector::select(int layer, int num_visible, token_set& out) {
  std::vector<heavy_hitters>& heads = layers_[layer];
  for (heavy_hitters& h : heads) h.admit_until(num_visible);
  // Every head admits and evicts the same counts, so head 0's size is every head's.
  const int budget = token_budget(options_, num_visible);
  const int excess = static_cast<int>(heads[0].kept().size()) - budget;
  if (excess > 0) {
    const int protected_from = num_visible - recent_half(budget);
    for (heavy_hitters& h : heads) h.evict(excess, protected_from);
  }
  const int list_size = static_cast<int>(heads[0].kept().size());
  if (list_size == num_visible) {  // nothing evicted yet: budget(n) == n
    out.set_dense();
    return;
  }
  std::span<int32_t> positions = make_sparse(out, static_cast<int>(heads.size()), list_size);
  for (size_t h = 0; h < heads.size(); ++h) {
    std::copy(heads[h].kept().begin(), heads[h].kept().end(), positions.begin() + h * list_size);
  }
}

mass_request h2o_selector::wanted_mass(int /*layer*/, int num_rows) const {
  if (num_rows <= 0) return {};
  if (num_rows == 1) return {1, false};
  return {num_rows, true};  // a prefill: every row's mass counts, and only the sum matters
}

void h2o_selector::observe(int layer, const token_set& set, const attention_mass& mass) {
  std::vector<heavy_hitters>& heads = layers_[layer];
  const int num_heads = std::min(static_cast<int>(heads.size()), mass.num_kv_heads);
  for (int h = 0; h < num_heads; ++h) {
    if (set.dense) heads[h].admit_until(mass.num_cols);  // a prefill's positions, before select()
    const auto list = set.dense ? std::span<const int32_t>() : set.list(set.num_lists == 1 ? 0 : h);
    for (int r = 0; r < mass.num_rows; ++r) {
      if (set.dense) {
        heads[h].add_dense(mass.row(r, h));
      } else {
        heads[h].add_sparse(list, mass.row(r, h));
      }
    }
  }
}

}  // namespace alisa::scheduler
