#pragma once
// cuda_backend — alisa::gpu::backend on one NVIDIA GPU (CUDA runtime + cuBLAS; kernels in
// gpu/cuda/*.cu). The CPU backend (gpu/cpu/) is the reference every op is tested against
// (tests/gpu/, parameterised over the backends this binary was built with).
//
// * Memory: allocate() is cudaMalloc (zeroed); every pointer the ops take is device memory.
//   Weights are plain row-major [rows][cols] in their storage dtype.
// * Streams: every op is queued on one compute stream and returns without waiting; download(),
//   synchronize() and the selection ops wait. Small host arrays an op takes (tokens, positions,
//   gather offsets, token lists) are copied from pageable memory, which the runtime stages before
//   returning, so callers may reuse them at once.
// * Staged uploads (upload_async/commit_uploads): rows fetched from host tiers are copied into
//   double-buffered pinned memory and sent on a separate copy stream (contiguous rows coalesced
//   into one copy); the compute stream waits on an event at commit, so transfers overlap the
//   kernels already queued.
// * linear(): cuBLAS (loaded at run time, cublas_library.hpp). fp32 weights: SGEMM (no TF32, so
//   fp32 results stay within 1e-4 of the CPU reference). fp16/bf16 weights: up to 8 rows (decode)
//   the fp32-activation GEMV kernel; more rows round the activations to the weight dtype for
//   cublasGemmEx, which accumulates in fp32. linear_row_exact() uses a fixed-order kernel instead, since
//   cuBLAS may pick a different algorithm (and summation order) for each batch size.
// * One thread drives the backend at a time (backend.hpp). Errors throw std::runtime_error with
//   the failing call and CUDA's message (cuda_check.hpp).
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <array>
#include <mutex>
#include <unordered_map>

#include "gpu/backend.hpp"
#include "gpu/cuda/cublas_library.hpp"
#include "gpu/cuda/cuda_attention.hpp"
#include "gpu/cuda/device_buffer.hpp"
#include "gpu/cuda/select_kernels.hpp"

namespace alisa::gpu::cuda {

// The first usable device, or an error message saying why there is none (no driver, no device,
// a device too old for the sm_80/sm_90 code this binary carries).
struct device_probe {
  int device = -1;
  std::string reason;  // empty when device >= 0
};
device_probe probe_device();

class cuda_backend final : public backend {
 public:
  // Throws std::runtime_error when `device` is not usable.
  explicit cuda_backend(int device);
  ~cuda_backend() override;

  std::string name() const override;
  int num_threads() const override { return 1; }  // one host thread drives the device
  bool asynchronous() const override { return true; }

  void* allocate(size_t bytes) override;
  void release(void* ptr) override;
  void upload(void* dst, const void* host_src, size_t bytes) override;
  void download(void* host_dst, const void* src, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void upload_async(void* dst, const void* host_src, size_t bytes) override;
  void commit_uploads() override;
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
  void attention(std::span<const attention_item> items, const attention_shape& shape) override;
  void synchronize() override;
  void top_k(const float* scores, int count, int k, int32_t* out_indices) override;
  int32_t sample_token(const float* logits, int vocab, const sampling_params& params,
                       double u) override;
  double measure_read_bandwidth_gbs(size_t bytes, int repetitions) override;

 private:
  // Copies a small host int array to device scratch `slot` (ordered on the compute stream).
  const int32_t* upload_indices(int slot, const int32_t* host, int n);
  void bind_thread() const;  // makes the calling thread's current device this backend's
  void flush_staged_copy();  // issues the pending (coalesced) staged copy on the copy stream

  int device_ = -1;
  std::string device_name_;
  int sm_major_ = 0, sm_minor_ = 0;
  size_t total_memory_ = 0;
  cudaStream_t compute_ = nullptr;
  cudaStream_t copy_ = nullptr;
  const cublas_library* blas_ = nullptr;  // loaded at construction (cublas_library.hpp)
  cublasHandle_t cublas_ = nullptr;
  std::mutex mutex_;  // guards allocations_ (weights may be uploaded from loader threads)
  std::unordered_map<void*, size_t> allocations_;
  std::array<device_buffer, 2> indices_;  // tokens / positions / offsets of the current op
  device_buffer narrowed_;                // activations rounded to 16 bits for GemmEx
  // Staged uploads: two pinned halves; the one being filled, its fill level, and per half the
  // event that says its last copies are done.
  std::array<pinned_buffer, 2> staging_;
  std::array<cudaEvent_t, 2> staging_done_{};
  std::array<bool, 2> staging_pending_{};
  int staging_half_ = 0;
  size_t staging_used_ = 0;
  bool staged_since_commit_ = false;
  struct staged_copy {
    unsigned char* dst = nullptr;
    unsigned char* src = nullptr;  // in the current pinned half
    size_t bytes = 0;
  };
  staged_copy pending_;  // grown while rows arrive contiguously, issued when the run breaks
  cuda_attention attention_;
  select_scratch select_;
};

}  // namespace alisa::gpu::cuda
