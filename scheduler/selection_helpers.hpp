#pragma once
// selection_helpers — small pieces the policies share: how a budget splits into its recent half,
// and how a sparse token_set is laid out. Internal to scheduler/.
#include <cstdint>
#include <span>

#include "proto/token_set.hpp"

namespace alisa::scheduler {

// The share of a budget that SWA and H2O give to the most recent positions: ceil(budget / 2), so
// that the query itself (the most recent position) is always in it, even for a budget of 1.
inline int recent_half(int budget) { return (budget + 1) / 2; }

// Makes `out` a sparse set of num_lists lists of list_size positions (contents unspecified, to be
// written by the caller), reusing its storage. Returns the writable positions.
inline std::span<int32_t> make_sparse(token_set& out, int num_lists, int list_size) {
  out.dense = false;
  out.num_lists = num_lists;
  out.list_size = list_size;
  out.positions.resize(static_cast<size_t>(num_lists) * list_size);
  return out.positions;
}

}  // namespace alisa::scheduler
