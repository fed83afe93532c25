#include "engine/prefill_cost.hpp"

#include <algorithm>

namespace alisa::engine {

prefill_cost::prefill_cost(const model::model_config& c) {
  const double hidden = c.hidden_size, q = c.q_dim(), kv = c.kv_dim();
  const double ffn_matrices = c.activation == model::activation_kind::silu_gated ? 3.0 : 2.0;
  // Per layer and row: q, k, v, o projections and the FFN, 2 FLOPs per weight.
  const double linear = 2.0 * (hidden * q + 2.0 * hidden * kv + q * hidden +
                               ffn_matrices * hidden * c.intermediate_size);
  const double per_key = 4.0 * q;
  keys_per_token_ = per_key > 0 && linear > 0 ? linear / per_key : 1.0;
}

double prefill_cost::of_rows(int64_t first_position, int64_t n) const {
  if (n <= 0) return 0.0;
  // Row i attends to first_position + i + 1 keys.
  const double keys = static_cast<double>(n) * static_cast<double>(first_position) +
                      static_cast<double>(n) * static_cast<double>(n + 1) / 2.0;
  return static_cast<double>(n) + keys / keys_per_token_;
}

int prefill_cost::rows_within(int64_t first_position, int max_rows, double budget) const {
  int lo = 0, hi = std::max(0, max_rows);  // of_rows is increasing in n: the largest n that fits
  while (lo < hi) {
    const int mid = lo + (hi - lo + 1) / 2;
    if (of_rows(first_position, mid) <= budget)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

}  // namespace alisa::engine
