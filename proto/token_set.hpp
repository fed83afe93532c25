#pragma once
// token_set, mass_request, attention_mass — what a selection policy (scheduler/) and the forward
// pass (gpu/) exchange for one (sequence, layer) at one step. Plain data, no behaviour beyond
// accessors, so both sides use them without depending on each other.
//
// Positions index the sequence: 0 is the first prompt token. A query at position q sees the
// positions [0, q]; "n visible" below means q + 1.
#include <cstdint>
#include <span>
#include <vector>

namespace alisa {

// The tokens one query row attends to.
struct token_set {
  // Dense: every visible position. Sparse attention is only defined for steps with one query row
  // per sequence (decode, teacher-forced evaluation); multi-row steps (prefill) are always dense.
  bool dense = true;
  // Sparse: `num_lists` lists of `list_size` strictly ascending, visible positions, concatenated.
  // num_lists == 1: one list for every head. num_lists == num_kv_heads: list h is read by kv head
  // h and by the query heads grouped onto it (GQA). Every list has the same length.
  int num_lists = 1;
  int list_size = 0;
  std::vector<int32_t> positions;  // num_lists * list_size

  std::span<const int32_t> list(int i) const {
    return std::span<const int32_t>(positions).subspan(static_cast<size_t>(i) * list_size,
                                                       list_size);
  }
  // Tokens one query head reads: list_size, or n when dense.
  int tokens_attended(int num_visible) const { return dense ? num_visible : list_size; }
  void set_dense() {
    dense = true;
    num_lists = 1;
    list_size = 0;
    positions.clear();
  }
};

// Which attention probabilities a policy wants reported back from a step.
struct mass_request {
  int num_rows = 0;   // the last num_rows query rows of the step (0 = report nothing)
  bool sum_rows = false;  // true: add those rows into one row; false: report each row
};

// The attention probability each attended token received, summed over the query heads that
// share a kv head. values is [num_rows][num_kv_heads][num_cols]:
// - sparse step: num_cols = list_size and column j is position list(h)[j] (list(0) when shared);
// - dense step: num_cols = every position visible to the step's last row, column j = position j
//   (a row at position q has zeros beyond q).
// Row r is query position first_row_position + r (with sum_rows: the sum over the reported rows,
// first_row_position then being the first of them).
struct attention_mass {
  int num_rows = 0;
  int num_kv_heads = 0;
  int num_cols = 0;
  int first_row_position = 0;
  std::vector<float> values;

  std::span<const float> row(int r, int kv_head) const {
    return std::span<const float>(values).subspan(
        (static_cast<size_t>(r) * num_kv_heads + kv_head) * num_cols, num_cols);
  }
};

}  // namespace alisa
