// windowed_scores — running windowed sum of attention mass for SWA (see the header).
#include "scheduler/windowed_scores.hpp"

#include <algorithm>
#include <cassert>

namespace alisa::scheduler {

void windowed_scores::extend_to(int num_positions) {
  if (num_positions <= this->num_positions()) return;
  sum_.resize(num_positions, 0.0);
  holders_.resize(num_positions, 0);
}

void windowed_scores::add_pair(entry& e, int32_t position, double mass) {
  if (mass == 0.0) return;  // nothing to add now or to subtract later
  extend_to(position + 1);
  e.positions.push_back(position);
  e.mass.push_back(mass);
  sum_[position] += mass;
  ++holders_[position];
}

void windowed_scores::add_step(const token_set& set, const attention_mass& mass) {
  if (mass.num_rows <= 0 || mass.num_kv_heads <= 0) return;
  entry e;
  if (!spare_.empty()) {
    e = std::move(spare_.back());
    spare_.pop_back();
    e.positions.clear();
    e.mass.clear();
  }
  // When every kv head reads the same columns, sum the heads first: one pair per column.
  // Per-kv-head lists map columns differently, so each head contributes its own pairs.
  // A dense step's columns are every position its last row sees, scored or not.
  if (set.dense) extend_to(mass.num_cols);
  const bool shared_columns = set.dense || set.num_lists == 1;
  const int num_groups = shared_columns ? 1 : mass.num_kv_heads;
  const int num_cols = set.dense ? mass.num_cols : std::min(mass.num_cols, set.list_size);
  assert(set.dense || mass.num_cols == set.list_size);
  assert(shared_columns || set.num_lists == mass.num_kv_heads);
  for (int group = 0; group < num_groups; ++group) {
    column_sum_.assign(num_cols, 0.0);
    const int first_head = shared_columns ? 0 : group;
    const int end_head = shared_columns ? mass.num_kv_heads : group + 1;
    for (int r = 0; r < mass.num_rows; ++r) {
      for (int h = first_head; h < end_head; ++h) {
        const auto row = mass.row(r, h);
        for (int c = 0; c < num_cols; ++c) column_sum_[c] += row[c];
      }
    }
    if (set.dense) {
      for (int c = 0; c < num_cols; ++c) add_pair(e, c, column_sum_[c]);
    } else {
      const auto list = set.list(shared_columns ? 0 : group);
      for (int c = 0; c < num_cols; ++c) add_pair(e, list[c], column_sum_[c]);
    }
  }
  ring_.push_back(std::move(e));
}

void windowed_scores::drop_oldest() {
  entry& e = ring_.front();
  for (size_t i = 0; i < e.positions.size(); ++i) {
    const int32_t p = e.positions[i];
    sum_[p] = --holders_[p] == 0 ? 0.0 : sum_[p] - e.mass[i];
  }
  // One entry leaves per entry added in steady state, so one spare is enough to recycle storage.
  if (spare_.empty()) spare_.push_back(std::move(e));
  ring_.pop_front();
}

void windowed_scores::keep_last(int window) {
  while (static_cast<int>(ring_.size()) > std::max(window, 0)) drop_oldest();
}

}  // namespace alisa::scheduler
