#include "gpu/kv_cache.hpp"

namespace alisa::gpu {

dense_kv_cache::dense_kv_cache(backend& be, int num_layers, int kv_dim, int capacity)
    : backend_(be),
      num_layers_(num_layers),
      kv_dim_(kv_dim),
      capacity_(capacity),
      layer_stride_(2 * static_cast<size_t>(capacity) * static_cast<size_t>(kv_dim)) {
  base_ = static_cast<float*>(backend_.allocate(num_bytes()));
}

dense_kv_cache::~dense_kv_cache() { backend_.release(base_); }

size_t dense_kv_cache::num_bytes() const {
  return static_cast<size_t>(num_layers_) * layer_stride_ * sizeof(float);
}

}  // namespace alisa::gpu
