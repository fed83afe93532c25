#pragma once
// windowed_scores — one layer's SWA score: for every position, the attention mass (summed over
// heads) that the last W observed steps gave it. Kept as a running sum plus a ring of the observed
// steps, each stored sparsely as (position, mass) pairs — a decode step only covers its token set,
// a dense step's zeros are skipped — so that a step leaving the window is subtracted with exactly
// the values it added. A per-position count of the ring entries holding mass for it resets a score
// to exactly 0 when the last one leaves, so rounding residue never decides a tie.
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "proto/token_set.hpp"

namespace alisa::scheduler {

class windowed_scores {
 public:
  // Positions [0, num_positions) have a score; new ones start at 0. Never shrinks.
  void extend_to(int num_positions);
  int num_positions() const { return static_cast<int>(sum_.size()); }

  // Adds one observed step as one ring entry: every reported row and kv head of `mass`, scattered
  // to positions by `set` (dense: column = position; one shared list: column j = list(0)[j];
  // per-kv-head lists: kv head h's columns go to list(h)).
  void add_step(const token_set& set, const attention_mass& mass);

  // Drops the oldest entries until at most `window` (>= 0) remain.
  void keep_last(int window);
  int num_steps() const { return static_cast<int>(ring_.size()); }

  // Score per position, size num_positions().
  std::span<const double> scores() const { return sum_; }

 private:
  struct entry {
    std::vector<int32_t> positions;
    std::vector<double> mass;
  };
  void add_pair(entry& e, int32_t position, double mass);
  void drop_oldest();

  std::vector<double> sum_;
  std::vector<int32_t> holders_;  // per position: ring entries with nonzero mass for it
  std::deque<entry> ring_;
  std::vector<entry> spare_;        // a dropped entry, kept for its storage
  std::vector<double> column_sum_;  // add_step scratch
};

}  // namespace alisa::scheduler
