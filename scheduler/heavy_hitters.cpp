// heavy_hitters — H2O's kept set and accumulated scores for one kv head (see the header).
#include "scheduler/heavy_hitters.hpp"

#include <algorithm>
#include <cassert>
#include <numeric>

namespace alisa::scheduler {

void heavy_hitters::admit_until(int end) {
  for (int p = num_admitted_; p < end; ++p) {
    kept_.push_back(p);
    score_.push_back(0.0);
  }
  num_admitted_ = std::max(num_admitted_, end);
}

void heavy_hitters::add_dense(std::span<const float> row) {
  const int num_cols = static_cast<int>(row.size());
  for (size_t i = 0; i < kept_.size() && kept_[i] < num_cols; ++i) score_[i] += row[kept_[i]];
}

void heavy_hitters::add_sparse(std::span<const int32_t> positions, std::span<const float> row) {
  // Both sides ascending: one merge walk. Usually they are the same list (the set select() made).
  size_t k = 0;
  for (size_t c = 0; c < positions.size() && c < row.size(); ++c) {
    while (k < kept_.size() && kept_[k] < positions[c]) ++k;
    if (k == kept_.size()) return;
    if (kept_[k] == positions[c]) score_[k] += row[c];
  }
}

void heavy_hitters::evict(int count, int protected_from) {
  if (count <= 0) return;
  const int num_candidates = static_cast<int>(
      std::lower_bound(kept_.begin(), kept_.end(), protected_from) - kept_.begin());
  assert(count <= num_candidates);
  count = std::min(count, num_candidates);
  // Evicting the lowest one at a time while scores stay fixed removes the same `count` positions
  // as one partial selection of the lowest `count`, which costs O(kept) instead of O(count * kept).
  scratch_.resize(num_candidates);
  std::iota(scratch_.begin(), scratch_.end(), 0);
  auto evicted_first = [&](int32_t a, int32_t b) {
    return score_[a] != score_[b] ? score_[a] < score_[b] : a < b;  // index order = age order
  };
  std::nth_element(scratch_.begin(), scratch_.begin() + (count - 1), scratch_.end(), evicted_first);
  std::sort(scratch_.begin(), scratch_.begin() + count);
  // Compact kept_ and score_ past the victims (ascending indices).
  size_t write = scratch_[0];
  int next_victim = 0;
  for (size_t read = scratch_[0]; read < kept_.size(); ++read) {
    if (next_victim < count && static_cast<int32_t>(read) == scratch_[next_victim]) {
      ++next_victim;
      continue;
    }
    kept_[write] = kept_[read];
    score_[write] = score_[read];
    ++write;
  }
  kept_.resize(write);
  score_.resize(write);
}

}  // namespace alisa::scheduler
