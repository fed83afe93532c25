#pragma once
// kv_traffic — the K+V bytes one query row's attention reads from a KV cache layer, given the
// positions it attends to and how the rows are stored. This is the "bytes per step" that sparse
// attention exists to cut; counting it from the token set (not from timings) keeps it exact.
#include <cstdint>

#include "proto/kv_dtype.hpp"
#include "proto/token_set.hpp"

namespace alisa::gpu {

// Bytes read for keys and values together. `stored_len` = positions in the cache after this
// step's rows were appended (decides which int8 positions are still fp32 staging rows).
// int8: one byte per element of a quantised row, four per staging row, plus the minimum and scale
// rows (two floats per channel) of every chunk the positions touch, per list.
int64_t kv_bytes_read(const token_set& set, int num_visible, int stored_len, int kv_dim,
                      kv_dtype type);

}  // namespace alisa::gpu
