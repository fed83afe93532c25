#pragma once
// cpu_backend — the reference implementation of alisa::gpu::backend on host memory.
//
// * All ops run synchronously on the caller's thread plus a persistent thread_pool; synchronize()
//   is a no-op.
// * linear(): small n (decode) uses the register-blocked SIMD kernel that streams each weight row
//   once for all n rows of x, split over output rows across threads. Large n (prefill) is
//   compute-bound and uses OpenBLAS sgemm (16-bit weights are widened panel by panel into a
//   per-thread fp32 buffer first).
// * OpenBLAS runs single-threaded inside our pool's threads by default (each thread multiplies its
//   own slice of weight rows). That keeps exactly num_threads busy threads: OpenBLAS's own workers
//   would keep spinning for a long time after each call and fight our pool on small machines.
// * Every pointer handed out (allocate, upload_*) is owned by the backend and freed on destruction.
#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "gpu/backend.hpp"
#include "gpu/cpu/thread_pool.hpp"

namespace alisa::gpu::cpu {

struct cpu_backend_options {
  // linear() switches from the SIMD kernel to sgemm at n >= this; <= 0 = tuned default per dtype.
  int gemm_min_rows = 0;
  // true: let OpenBLAS thread a single sgemm call itself (openblas_set_num_threads(threads)) for
  // fp32 weights instead of slicing rows across our pool. Kept for benchmarking the alternative.
  bool openblas_threading = false;
};

class cpu_backend final : public backend {
 public:
  explicit cpu_backend(int num_threads, cpu_backend_options options = {});
  ~cpu_backend() override;

  std::string name() const override;
  int num_threads() const override { return pool_.num_threads(); }
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
  void rms_norm(const float* x, int n, int dim, const float* gain, float eps, float* y) override;
  void layer_norm(const float* x, int n, int dim, const float* gain, const float* bias, float eps,
                  float* y) override;
  void rope(float* x, int n, int num_heads, int head_dim, const int32_t* positions, float theta,
            model::rope_layout layout) override;
  void silu_mul(const float* gate, const float* up, int64_t count, float* y) override;
  void relu(float* x, int64_t count) override;
  void add(float* x, const float* y, int64_t count) override;
  void attention(std::span<const attention_item> items, const attention_shape& shape) override;
  void synchronize() override {}
  double measure_read_bandwidth_gbs(size_t bytes, int repetitions) override;

  // The n at which linear() switches to sgemm for weights of `type`.
  int gemm_min_rows(dtype type) const;

 private:
  void linear_simd(const float* x, int n, const weight_matrix& w, float* y);
  void linear_gemm(const float* x, int n, const weight_matrix& w, float* y);
  void convert_into(const model::tensor_view& src, void* dst, dtype type);
  float* scratch(int thread, size_t floats);  // per-thread buffer, grown (never shrunk) on demand

  cpu_backend_options options_;
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
};

}  // namespace alisa::gpu::cpu
