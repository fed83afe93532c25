// positional_selectors — dense, local, strided and streaming (see the header).
#include "scheduler/positional_selectors.hpp"

#include <algorithm>
#include <numeric>

#include "scheduler/selection_helpers.hpp"

namespace alisa::scheduler {

void dense_selector::select(int /*layer*/, int /*num_visible*/, token_set& out) { out.set_dense(); }

mass_request dense_selector::wanted_mass(int /*layer*/, int /*num_rows*/) const { return {}; }

void dense_selector::observe(int /*layer*/, const token_set& /*set*/,
                             const attention_mass& /*mass*/) {}

void positional_selector::select(int /*layer*/, int num_visible, token_set& out) {
  const int budget = token_budget(options_, num_visible);
  if (budget >= num_visible) {
    out.set_dense();
    return;
  }
  fill(num_visible, budget, make_sparse(out, 1, budget));
}

// Position rules learn nothing from attention, so they ask for nothing.
mass_request positional_selector::wanted_mass(int /*layer*/, int /*num_rows*/) const { return {}; }

void positional_selector::observe(int /*layer*/, const token_set& /*set*/,
                                  const attention_mass& /*mass*/) {}

void local_selector::fill(int num_visible, int budget, std::span<int32_t> positions) const {
  std::iota(positions.begin(), positions.end(), num_visible - budget);
}

void strided_selector::fill(int num_visible, int budget, std::span<int32_t> positions) const {
  // Offsets floor(i*n/b) grow by at least 1 per step (n/b > 1), so the positions are distinct, and
  // the largest, floor((b-1)*n/b) = n - ceil(n/b), keeps the oldest position >= 0.
  const int64_t n = num_visible;
  for (int i = 0; i < budget; ++i) {
    const int64_t offset = i * n / budget;
    positions[budget - 1 - i] = static_cast<int32_t>(n - 1 - offset);
  }
}

void streaming_selector::fill(int num_visible, int budget, std::span<int32_t> positions) const {
  // budget < num_visible, so the sinks [0, sinks) and the recent run never overlap.
  const int sinks = std::min(options().num_sinks, budget - 1);
  std::iota(positions.begin(), positions.begin() + sinks, 0);
  std::iota(positions.begin() + sinks, positions.end(), num_visible - (budget - sinks));
}

}  // namespace alisa::scheduler
