#pragma once
// dense_kv_cache — one sequence's keys and values for every layer, in backend memory, fp32.
// This is the simple per-sequence cache of the engine core; the tiered, sparse KV store of later
// issues replaces it behind the same forward-pass calls.
//
// Layout per layer: keys [capacity, kv_dim] then values [capacity, kv_dim], row = position.
// Owned by whoever runs the sequence; must not outlive the backend that allocated it.
#include <cstddef>

#include "gpu/backend.hpp"

namespace alisa::gpu {

class dense_kv_cache {
 public:
  dense_kv_cache(backend& be, int num_layers, int kv_dim, int capacity);
  ~dense_kv_cache();
  dense_kv_cache(const dense_kv_cache&) = delete;
  dense_kv_cache& operator=(const dense_kv_cache&) = delete;

  float* keys(int layer) { return layer_base(layer); }
  float* values(int layer) { return layer_base(layer) + layer_stride_ / 2; }
  int length() const { return length_; }      // positions filled so far
  int capacity() const { return capacity_; }  // the context length it was made for
  int kv_dim() const { return kv_dim_; }
  size_t num_bytes() const;
  // Called by the forward pass once the new rows of every layer are written.
  void advance(int num_tokens) { length_ += num_tokens; }
  void clear() { length_ = 0; }  // reuse for a new sequence (eval chunks)

 private:
  float* layer_base(int layer) { return base_ + static_cast<size_t>(layer) * layer_stride_; }

  backend& backend_;
  int num_layers_;
  int kv_dim_;
  int capacity_;
  int length_ = 0;
  size_t layer_stride_;  // floats per layer (keys + values)
  float* base_ = nullptr;
};

}  // namespace alisa::gpu
