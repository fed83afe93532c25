#include "gpu/kv_traffic.hpp"

#include <algorithm>

namespace alisa::gpu {
namespace {

// Bytes one list of positions reads over `width` channels of K and of V.
int64_t list_bytes(const int32_t* positions, int count, int quantised_len, int width,
                   kv_dtype type) {
  if (type != kv_dtype::i8) return 2 * int64_t{count} * width * int64_t(kv_dtype_size(type));
  int64_t bytes = 0;
  int last_chunk = -1;
  for (int i = 0; i < count; ++i) {
    const int p = positions[i];
    if (p >= quantised_len) {
      bytes += 2 * int64_t{width} * 4;  // fp32 staging row
      continue;
    }
    bytes += 2 * int64_t{width};
    const int chunk = p / kv_chunk_tokens;
    if (chunk != last_chunk) bytes += 2 * 2 * int64_t{width} * 4;  // minimum + scale, K and V
    last_chunk = chunk;
  }
  return bytes;
}

// The same count for positions [0, n) in closed form (dense steps read every row).
int64_t dense_bytes(int n, int quantised_len, int width, kv_dtype type) {
  if (type != kv_dtype::i8) return 2 * int64_t{n} * width * int64_t(kv_dtype_size(type));
  const int64_t quantised = std::min(n, quantised_len);
  const int64_t chunks = (quantised + kv_chunk_tokens - 1) / kv_chunk_tokens;
  return 2 * int64_t{width} * (quantised + 4 * (n - quantised) + 2 * 4 * chunks);
}

}  // namespace

int64_t kv_bytes_read(const token_set& set, int num_visible, int stored_len, int kv_dim,
                      kv_dtype type) {
  const int quantised_len = (stored_len / kv_chunk_tokens) * kv_chunk_tokens;
  if (set.dense) return dense_bytes(num_visible, quantised_len, kv_dim, type);
  const int width = kv_dim / set.num_lists;
  int64_t bytes = 0;
  for (int l = 0; l < set.num_lists; ++l)
    bytes += list_bytes(set.list(l).data(), set.list_size, quantised_len, width, type);
  return bytes;
}

}  // namespace alisa::gpu
