#pragma once
// dense_kv_cache — one sequence's keys and values for every layer, in backend memory, stored in
// the KV dtype (fp32, fp16, bf16, or int8 with per-chunk statistics; see backend.hpp kv_rows).
// "Dense" means every position has a slot (capacity = the context); which positions a step
// attends to is the token_set's business, not the cache's. The tiered KV store of later issues
// replaces it behind the same forward-pass calls.
//
// Owned by whoever runs the sequence; must not outlive the backend that allocated it.
#include <cstddef>
#include <vector>

#include "gpu/backend.hpp"

namespace alisa::gpu {

// Byte sizes of one layer's keys (or values) of `capacity` positions, sub-buffers in this order,
// each rounded up to 64 bytes: data | minimum | scale | staging (the last three int8 only).
struct kv_rows_layout {
  size_t data = 0, stats = 0, staging = 0;  // stats: minimum and scale each
  size_t total() const { return data + 2 * stats + staging; }
  size_t stored() const { return data + 2 * stats; }  // what a complete block needs (no staging)
};
kv_rows_layout kv_layout_for(kv_dtype type, int kv_dim, int capacity);
// The kv_rows view of a buffer laid out as above, starting at base (backend memory).
kv_rows carve_kv_rows(void* base, const kv_rows_layout& layout, kv_dtype type, int kv_dim);

// The checks every backend's append_kv / gather_kv makes before touching memory: throw
// std::invalid_argument naming the op for a kv_rows without data (or int8 statistics/staging),
// a non-positive kv_dim or a negative length.
void check_append_target(const kv_rows& dst, int length);
void check_gather_source(const kv_rows& src);

class dense_kv_cache {
 public:
  dense_kv_cache(backend& be, int num_layers, int kv_dim, int capacity,
                 kv_dtype type = kv_dtype::f32);
  ~dense_kv_cache();
  dense_kv_cache(const dense_kv_cache&) = delete;
  dense_kv_cache& operator=(const dense_kv_cache&) = delete;

  const kv_rows& keys(int layer) const { return keys_[static_cast<size_t>(layer)]; }
  const kv_rows& values(int layer) const { return values_[static_cast<size_t>(layer)]; }
  int length() const { return length_; }      // positions filled so far
  int capacity() const { return capacity_; }  // the context length it was made for
  int kv_dim() const { return kv_dim_; }
  kv_dtype type() const { return type_; }
  size_t num_bytes() const;  // everything allocated, statistics and staging included
  // Called by the forward pass once the new rows of every layer are written.
  void advance(int num_tokens) { length_ += num_tokens; }
  void clear() { length_ = 0; }  // reuse for a new sequence (evaluation chunks)

 private:
  backend& backend_;
  int num_layers_;
  int kv_dim_;
  int capacity_;
  kv_dtype type_;
  int length_ = 0;
  size_t bytes_ = 0;
  void* base_ = nullptr;  // one allocation carved into the per-layer kv_rows
  std::vector<kv_rows> keys_, values_;
};

}  // namespace alisa::gpu
