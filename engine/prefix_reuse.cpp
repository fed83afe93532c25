#include "engine/prefix_reuse.hpp"

#include <algorithm>
#include <stdexcept>

namespace alisa::engine {
namespace {

// Backend memory for one block's rows of one layer (keys, values, hidden), released with it.
class staging {
 public:
  staging(gpu::backend& be, size_t floats) : be_(be), ptr_(static_cast<float*>(be.allocate(floats * sizeof(float)))) {}
  ~staging() { be_.release(ptr_); }
  staging(const staging&) = delete;
  staging& operator=(const staging&) = delete;
  float* get() const { return ptr_; }

 private:
  gpu::backend& be_;
  float* ptr_;
};

}  // namespace

prefix_capture::prefix_capture(prefix_cache& cache, gpu::backend& be,
                               std::span<const int32_t> prompt, int num_blocks)
    : cache_(cache), backend_(be), num_blocks_(num_blocks), slot_of_block_(static_cast<size_t>(num_blocks), -1) {
  for (int b = 0; b < num_blocks; ++b) {
    if (cache.contains(prompt, b)) continue;
    slot_of_block_[static_cast<size_t>(b)] = static_cast<int>(blocks_.size());
    blocks_.push_back(cache.make_block(prompt, b));
  }
}

void prefix_capture::rows(int layer, int first_position, const float* keys, const float* values,
                          const float* hidden, int n) {
  const auto& shape = cache_.shape();
  const size_t kv = static_cast<size_t>(shape.kv_dim);
  const size_t hs = static_cast<size_t>(shape.hidden_size);
  int p = first_position;
  const int end = std::min(first_position + n, end_position());
  while (p < end) {
    const int block = p / kv_block_tokens;
    const int in_block = p % kv_block_tokens;
    const int run = std::min(end - p, kv_block_tokens - in_block);  // rows within this block
    const int slot = slot_of_block_[static_cast<size_t>(block)];
    if (slot >= 0) {
      prefix_block& b = blocks_[static_cast<size_t>(slot)];
      const size_t src_row = static_cast<size_t>(p - first_position);
      const size_t dst_row = static_cast<size_t>(layer) * kv_block_tokens + static_cast<size_t>(in_block);
      backend_.download(b.keys.data() + dst_row * kv, keys + src_row * kv, run * kv * sizeof(float));
      backend_.download(b.values.data() + dst_row * kv, values + src_row * kv, run * kv * sizeof(float));
      if (!b.hidden.empty())
        backend_.download(b.hidden.data() + dst_row * hs, hidden + src_row * hs, run * hs * sizeof(float));
    }
    p += run;
  }
}

void prefix_capture::publish() {
  for (auto& b : blocks_) cache_.publish(std::move(b));
  blocks_.clear();
}

void replay_prefix(std::span<const prefix_block_ref> blocks, const prefix_cache_shape& shape,
                   gpu::backend& be, gpu::dense_kv_cache* cache, gpu::kv_source* source) {
  if ((cache == nullptr) == (source == nullptr))
    throw std::invalid_argument("replay_prefix: exactly one of cache and source");
  const size_t kv_floats = static_cast<size_t>(kv_block_tokens) * shape.kv_dim;
  const size_t hidden_floats = static_cast<size_t>(kv_block_tokens) * shape.hidden_size;
  staging keys(be, kv_floats), values(be, kv_floats), hidden(be, hidden_floats);
  for (const prefix_block_ref& b : blocks) {
    if (source && b->hidden.empty())
      throw std::invalid_argument("replay_prefix: a tiered sequence needs the blocks' hidden rows");
    const int length = cache ? cache->length() : source->length();
    for (int layer = 0; layer < shape.num_layers; ++layer) {
      // Ops may be queued (CUDA): the previous layer's must have read the staging rows first.
      if (layer > 0) be.synchronize();
      const size_t at = static_cast<size_t>(layer) * kv_floats;
      be.upload(keys.get(), b->keys.data() + at, kv_floats * sizeof(float));
      be.upload(values.get(), b->values.data() + at, kv_floats * sizeof(float));
      if (cache) {
        be.append_kv(cache->keys(layer), length, keys.get(), kv_block_tokens);
        be.append_kv(cache->values(layer), length, values.get(), kv_block_tokens);
      } else {
        be.upload(hidden.get(), b->hidden.data() + static_cast<size_t>(layer) * hidden_floats,
                  hidden_floats * sizeof(float));
        source->write(layer, keys.get(), values.get(), hidden.get(), kv_block_tokens);
      }
    }
    be.synchronize();
    if (cache)
      cache->advance(kv_block_tokens);
    else
      source->advance(kv_block_tokens);
  }
}

}  // namespace alisa::engine
