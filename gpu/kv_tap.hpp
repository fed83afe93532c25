#pragma once
// kv_tap — an observer of the K/V rows a forward step writes for one request: the same fp32 rows
// (RoPE applied) and normalised layer inputs that go into its dense_kv_cache or kv_source. The
// engine's prefix cache copies a prompt's rows through it (engine/prefix_cache.hpp), so a later
// request with the same prefix can start after them.
//
// Called from model_runner::forward on its thread, once per (layer, request) with rows, in layer
// order; the pointers are backend memory valid only during the call.
namespace alisa::gpu {

class kv_tap {
 public:
  virtual ~kv_tap() = default;
  // Rows of positions [first_position, first_position + n) of `layer`: keys and values
  // [n][kv_dim], hidden [n][hidden_size].
  virtual void rows(int layer, int first_position, const float* keys, const float* values,
                    const float* hidden, int n) = 0;
};

}  // namespace alisa::gpu
