#pragma once
// prefill_cost — what prompt rows cost a step, so that the step loop's prefill budget
// (--max-prefill-tokens) buys the same step time at every position of a long prompt.
//
// A row's projections and FFN cost the same wherever it sits; its attention grows with the
// positions before it. Cost is counted in token-equivalents: a row costs 1 plus its keys divided
// by keys_per_token, the number of keys whose attention FLOPs (4 · q_dim per layer: QKᵀ and PV)
// equal the row's projection and FFN FLOPs. For stories15m keys_per_token is about 1,700, so a
// row at position 16K costs about 10: a budget of 2,048 feeds ~2,000 rows of a short prompt but
// ~200 rows at the end of a 16K one, and the decoding jobs' steps stay about as long throughout.
#include <cstdint>

#include "model/model_config.hpp"

namespace alisa::engine {

class prefill_cost {
 public:
  explicit prefill_cost(const model::model_config& config);

  double keys_per_token() const { return keys_per_token_; }
  // Cost of the n rows at positions [first_position, first_position + n) (each attends to every
  // position up to its own).
  double of_rows(int64_t first_position, int64_t n) const;
  // The most rows, at most max_rows, from first_position whose cost fits `budget`; 0 when not
  // even one does.
  int rows_within(int64_t first_position, int max_rows, double budget) const;

 private:
  double keys_per_token_ = 1.0;
};

}  // namespace alisa::engine
