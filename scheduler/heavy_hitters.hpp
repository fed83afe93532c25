#pragma once
// heavy_hitters — H2O's state for one (layer, kv head): the kept positions (admitted and not
// evicted, ascending) and each one's accumulated attention mass over every observed step.
// Evicted positions never return: admission only ever adds positions never seen before.
#include <cstdint>
#include <span>
#include <vector>

namespace alisa::scheduler {

class heavy_hitters {
 public:
  // Keeps every position in [num_admitted(), end) with score 0.
  void admit_until(int end);
  int num_admitted() const { return num_admitted_; }

  // Adds one row of mass: column c is position c (dense) or positions[c] (sparse, ascending).
  // Mass for positions that are not kept is ignored.
  void add_dense(std::span<const float> row);
  void add_sparse(std::span<const int32_t> positions, std::span<const float> row);

  // Evicts the `count` kept positions below `protected_from` with the lowest scores (ties: the
  // older first). Precondition: at least `count` kept positions lie below protected_from.
  void evict(int count, int protected_from);

  std::span<const int32_t> kept() const { return kept_; }
  std::span<const double> scores() const { return score_; }  // parallel to kept()

 private:
  std::vector<int32_t> kept_;
  std::vector<double> score_;
  int num_admitted_ = 0;
  std::vector<int32_t> scratch_;  // evict() scratch
};

}  // namespace alisa::scheduler
