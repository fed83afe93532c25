#pragma once
// cpu_backend — the reference implementation of alisa::gpu::backend on host memory.
//
// * All ops run synchronously on the caller's thread plus a persistent thread_pool; synchronize()
//   is a no-op.
// * Weights are stored panel-interleaved (kernels::kPanelRows output rows per panel, [cols][16],
//   last panel zero-padded): weight_matrix::data is only meaningful to this backend; embed()
//   gathers rows out of that layout (the tied lm_head is the embedding table, so no second copy).
// * linear(): one outer-product kernel for every n, split over panels across threads. n = 1
//   decode is one contiguous stream of each thread's panels (bandwidth-bound); larger n reuses each
//   panel (from L1/L2) for all x rows in 6-row register blocks (compute-bound). 16-bit panels are
//   widened once into a per-thread fp32 buffer when more than one x block reuses them.
// * q8_0 weights (--dtype q8_0, or a Q8_0 GGUF used as stored) have their own packed layout and
//   kernel (q8_kernels.hpp): 1.0625 bytes per weight, codes widened in registers, fp32 sums.
// * Every pointer handed out (allocate, upload_*) is owned by the backend and freed on destruction.
#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "gpu/backend.hpp"
#include "gpu/cpu/thread_pool.hpp"

namespace alisa::gpu::cpu {

class cpu_backend final : public backend {
 public:
  explicit cpu_backend(int num_threads);
  ~cpu_backend() override;

  std::string name() const override;
  int num_threads() const override { return pool_.num_threads(); }
  bool stores_weights_as(dtype) const override { return true; }
  thread_pool& pool() { return pool_; }

  void* allocate(size_t bytes) override;
  void release(void* ptr) override;
  void upload(void* dst, const void* host_src, size_t bytes) override;
  void download(void* host_dst, const void* src, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  weight_matrix upload_matrix(const model::tensor_view& weight, const model::tensor_view& bias,
                              dtype type) override;
  const float* upload_vector(const model::tensor_view& v) override;

  void embed(const int32_t* tokens, int n, const weight_matrix& table, float* out) override;
  void linear(const float* x, int n, const weight_matrix& w, float* y) override;
  void linear_row_exact(const float* x, int n, const weight_matrix& w, float* y) override;
  void rms_norm(const float* x, int n, int dim, const float* gain, float eps, float* y) override;
  void layer_norm(const float* x, int n, int dim, const float* gain, const float* bias, float eps,
                  float* y) override;
  void rope(float* x, int n, int num_heads, int head_dim, const int32_t* positions, float theta,
            model::rope_layout layout) override;
  void silu_mul(const float* gate, const float* up, int64_t count, float* y) override;
  void relu(float* x, int64_t count) override;
  void add(float* x, const float* y, int64_t count) override;
  void append_kv(const kv_rows& dst, int length, const float* rows, int n) override;
  void gather_kv(const kv_rows& src, const int32_t* offsets, int n, bool staged,
                 float* out) override;
  // cpu_attention.cpp: multi-row dense items (prefill chunks) by query tiles
  // (tiled_attention_kernels.hpp), every other row by the per-row kernel (attention_kernels.hpp),
  // one path for dense (identity list) and sparse rows.
  void attention(std::span<const attention_item> items, const attention_shape& shape) override;
  void synchronize() override {}
  double measure_read_bandwidth_gbs(size_t bytes, int repetitions) override;

 private:
  // cpu_tiled_attention.cpp: the items attends_tiled() accepts; the others are left untouched.
  static bool attends_tiled(const attention_item& item);
  void tiled_attention(std::span<const attention_item> items, const attention_shape& shape);
  void run_linear(const float* x, int n, const weight_matrix& w, float* y, bool row_exact);
  void convert_into(const model::tensor_view& src, void* dst, dtype type);
  void dequantise_into(const model::tensor_view& src, void* dst, dtype type);
  weight_matrix upload_q8_matrix(const model::tensor_view& weight);
  void attach_bias(weight_matrix& w, const model::tensor_view& bias);
  float* scratch(int thread, size_t floats);  // per-thread buffer, grown (never shrunk) on demand
  float* shared_scratch(size_t floats);        // one buffer all threads of an op share, likewise

  thread_pool pool_;
  std::mutex mutex_;  // guards allocations_ (upload paths may be called from loader threads)
  std::unordered_map<void*, size_t> allocations_;
  struct free_deleter {
    void operator()(float* p) const;
  };
  struct scratch_buffer {
    std::unique_ptr<float, free_deleter> data;
    size_t floats = 0;
  };
  std::vector<scratch_buffer> scratch_;  // one per pool participant
  scratch_buffer shared_scratch_;
  static float* grow(scratch_buffer& buf, size_t floats);
};

}  // namespace alisa::gpu::cpu
