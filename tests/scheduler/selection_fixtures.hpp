#pragma once
// Test helpers for scheduler/ selectors: options in one line, and the attention_mass a forward
// pass would report for a token set, built from a function of (kv head, position).
#include <cstdint>
#include <functional>
#include <vector>

#include "proto/token_set.hpp"
#include "scheduler/token_selector.hpp"

namespace alisa::scheduler::test {

inline selection_options options_for(attention_policy policy, double sparsity, int min_budget = 2,
                                     int max_budget = 0, int window = 0, int num_sinks = 4) {
  selection_options o;
  o.policy = policy;
  o.sparsity = sparsity;
  o.min_budget = min_budget;
  o.max_budget = max_budget;
  o.window = window;
  o.num_sinks = num_sinks;
  return o;
}

using mass_fn = std::function<float(int kv_head, int position)>;

// One reported row for a single-query step over `set` (dense: positions [0, num_visible)).
inline attention_mass decode_mass(const token_set& set, int num_visible, int num_kv_heads,
                                  const mass_fn& mass) {
  attention_mass m;
  m.num_rows = 1;
  m.num_kv_heads = num_kv_heads;
  m.num_cols = set.dense ? num_visible : set.list_size;
  m.first_row_position = num_visible - 1;
  for (int h = 0; h < num_kv_heads; ++h) {
    for (int c = 0; c < m.num_cols; ++c) {
      const int position = set.dense ? c : set.list(set.num_lists == 1 ? 0 : h)[c];
      m.values.push_back(mass(h, position));
    }
  }
  return m;
}

// The summed row of a dense prefill of num_prompt positions.
inline attention_mass prefill_mass(int num_prompt, int num_kv_heads, const mass_fn& mass) {
  token_set dense;
  attention_mass m = decode_mass(dense, num_prompt, num_kv_heads, mass);
  m.first_row_position = 0;
  return m;
}

// A mass function from per-head tables {position -> mass}; unlisted positions get 0.
inline mass_fn table(std::vector<std::vector<std::pair<int, float>>> per_head) {
  return [per_head = std::move(per_head)](int h, int p) {
    for (const auto& [position, value] : per_head[h]) {
      if (position == p) return value;
    }
    return 0.0f;
  };
}

inline std::vector<int32_t> list_of(const token_set& set, int i = 0) {
  const auto l = set.list(i);
  return {l.begin(), l.end()};
}

}  // namespace alisa::scheduler::test
