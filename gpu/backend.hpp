#pragma once
// backend — the compute interface the forward pass is written against. The CPU backend
// (gpu/cpu/) is always built and is the reference; the CUDA backend implements the same ops later.
//
// Memory model: every `float*` / `void*` an op takes lives in the backend's address space (host
// memory for the CPU backend, device memory for CUDA) and comes from allocate()/upload_*().
// Arguments documented as "host" are plain host arrays. Matrices are row-major.
// Ops may run asynchronously; synchronize() waits for all of them (download() does too).
// Thread affinity: one backend is driven by one thread at a time (it parallelises internally).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "model/model_config.hpp"
#include "model/tensor.hpp"
#include "proto/dtype.hpp"

namespace alisa::gpu {

enum class backend_kind { cpu, cuda };

// A linear layer as the backend keeps it: weight [rows=out_features, cols=in_features] stored in
// `type`, optional fp32 bias of length rows. Owned by the backend that made it.
struct weight_matrix {
  dtype type = dtype::f32;
  int64_t rows = 0;
  int64_t cols = 0;
  const void* data = nullptr;
  const float* bias = nullptr;  // nullptr = no bias
  size_t num_bytes() const { return static_cast<size_t>(rows * cols) * dtype_size(type); }
};

// One sequence's share of a batched causal attention call. The KV cache holds positions
// [0, past_len + num_rows) for this layer, rows of width kv_dim = num_kv_heads*head_dim, already
// including the num_rows new tokens; query row i sits at position past_len + i and sees positions
// [0, past_len + i]. Query head h reads kv head h / (num_heads / num_kv_heads) (GQA).
struct attention_item {
  const float* q = nullptr;      // [num_rows, num_heads*head_dim]
  const float* keys = nullptr;   // [>= past_len+num_rows, kv_dim]
  const float* values = nullptr; // [>= past_len+num_rows, kv_dim]
  float* out = nullptr;          // [num_rows, num_heads*head_dim]
  int num_rows = 0;
  int past_len = 0;
};

struct attention_shape {
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  float scale = 0.0f;  // usually 1/sqrt(head_dim)
};

class backend {
 public:
  virtual ~backend() = default;
  virtual std::string name() const = 0;  // e.g. "cpu(avx2, 2 threads)"
  virtual int num_threads() const = 0;

  // --- memory ---------------------------------------------------------------------------------
  virtual void* allocate(size_t bytes) = 0;  // zero-initialised, 64-byte aligned
  virtual void release(void* ptr) = 0;
  virtual void upload(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void download(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;  // backend -> backend
  // Copies a host tensor of any dtype into backend memory converted to `type` (+ fp32 bias).
  virtual weight_matrix upload_matrix(const model::tensor_view& weight,
                                      const model::tensor_view& bias, dtype type) = 0;
  // Copies a host vector (any dtype) into backend memory as fp32; nullptr when absent.
  virtual const float* upload_vector(const model::tensor_view& v) = 0;

  // --- ops (n = number of token rows) -------------------------------------------------------------
  // out[i] = table row tokens[i] (converted to fp32). tokens: host.
  virtual void embed(const int32_t* tokens, int n, const weight_matrix& table, float* out) = 0;
  // Element-wise ops and norms accept y == x (in place); linear and attention do not alias.
  // y[n, w.rows] = x[n, w.cols] · wᵀ (+ bias). Streams w once for all n rows.
  virtual void linear(const float* x, int n, const weight_matrix& w, float* y) = 0;
  virtual void rms_norm(const float* x, int n, int dim, const float* gain, float eps, float* y) = 0;
  virtual void layer_norm(const float* x, int n, int dim, const float* gain, const float* bias,
                          float eps, float* y) = 0;
  // Rotates each head of x[n, num_heads*head_dim] in place by its row's position. positions: host.
  virtual void rope(float* x, int n, int num_heads, int head_dim, const int32_t* positions,
                    float theta, model::rope_layout layout) = 0;
  virtual void silu_mul(const float* gate, const float* up, int64_t count, float* y) = 0;  // silu(g)*u
  virtual void relu(float* x, int64_t count) = 0;
  virtual void add(float* x, const float* y, int64_t count) = 0;  // x += y
  // Batched causal attention: one item per sequence (items: host array).
  virtual void attention(std::span<const attention_item> items, const attention_shape& shape) = 0;
  virtual void synchronize() = 0;

  // --- measurement ------------------------------------------------------------------------------
  // Median GB/s (1e9 bytes/s) of a multi-threaded streaming read of `bytes` of this backend's
  // memory: the roofline that memory-bound decode is compared against. 0 when not measurable.
  virtual double measure_read_bandwidth_gbs(size_t bytes, int repetitions) {
    (void)bytes;
    (void)repetitions;
    return 0.0;
  }
};

// Creates a backend. `num_threads` <= 0 means "all hardware threads" (CPU backend).
// Throws std::runtime_error when the kind is not built or not usable on this machine.
std::unique_ptr<backend> make_backend(backend_kind kind, int num_threads);

}  // namespace alisa::gpu
