#include "gpu/cuda/cuda_backend.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "gpu/cpu/convert.hpp"
#include "gpu/cuda/cublas_library.hpp"
#include "gpu/cuda/cuda_check.hpp"
#include "gpu/cuda/elementwise_kernels.hpp"
#include "gpu/cuda/kv_kernels.hpp"
#include "gpu/cuda/row_exact_linear.hpp"
#include "gpu/kv_cache.hpp"

namespace alisa::gpu::cuda {
namespace {

constexpr size_t kStagingHalfBytes = size_t{8} << 20;  // grows when one upload is larger
// Up to this many rows, 16-bit weights go through the fp32-activation GEMV kernel (the K/V one)
// rather than cuBLAS: decode is bound by the weight stream either way, and the activations keep
// fp32 (GemmEx needs them in the weight dtype: fp16's ±65504 range would clip outliers).
constexpr int kGemvMaxRows = 8;

float element_as_f32(const model::tensor_view& t, int64_t i) {
  const auto* bytes = static_cast<const unsigned char*>(t.data);
  uint16_t bits = 0;
  switch (t.type) {
    case dtype::f32: {
      float f;
      std::memcpy(&f, bytes + i * 4, 4);
      return f;
    }
    case dtype::bf16:
      std::memcpy(&bits, bytes + i * 2, 2);
      return cpu::bf16_to_f32(bits);
    case dtype::f16:
      std::memcpy(&bits, bytes + i * 2, 2);
      return cpu::f16_to_f32(bits);
    case dtype::q8_0: {  // row-major GGUF blocks: element i is in block i / 32
      const unsigned char* block = bytes + static_cast<size_t>(i / kQ8Block) * kQ8BlockBytes;
      std::memcpy(&bits, block, 2);
      return cpu::f16_to_f32(bits) * static_cast<float>(static_cast<int8_t>(block[2 + i % kQ8Block]));
    }
  }
  return 0.0f;
}

// `src` converted to `type` on the host (round to nearest even, as the CPU backend converts), so
// both backends hold the same weight values. Same-dtype tensors are copied as they are.
std::vector<unsigned char> converted(const model::tensor_view& src, dtype type) {
  const int64_t count = src.num_elements();
  std::vector<unsigned char> out(static_cast<size_t>(count) * dtype_size(type));
  if (src.type == type) {
    std::memcpy(out.data(), src.data, out.size());
    return out;
  }
  for (int64_t i = 0; i < count; ++i) {
    const float f = element_as_f32(src, i);
    if (type == dtype::f32) {
      std::memcpy(out.data() + i * 4, &f, 4);
    } else {
      const uint16_t bits = type == dtype::bf16 ? cpu::f32_to_bf16(f) : cpu::f32_to_f16(f);
      std::memcpy(out.data() + i * 2, &bits, 2);
    }
  }
  return out;
}

cudaDataType_t cuda_type(dtype t) {
  switch (t) {
    case dtype::f32: return CUDA_R_32F;
    case dtype::f16: return CUDA_R_16F;
    case dtype::bf16: return CUDA_R_16BF;
    case dtype::q8_0: break;  // refused by upload_matrix
  }
  return CUDA_R_32F;
}

}  // namespace

device_probe probe_device() {
  device_probe probe;
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    // Without a driver cudart says "insufficient driver": name the likely cause as well.
    probe.reason = std::string("no usable CUDA driver/device: ") + cudaGetErrorName(err) + " (" +
                   cudaGetErrorString(err) + ")" +
                   (err == cudaErrorInsufficientDriver
                        ? "; is an NVIDIA driver for CUDA 13 installed on this machine?"
                        : "");
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    return probe;
  }
  if (count == 0) {
    probe.reason = "no CUDA device present";
    return probe;
  }
  for (int d = 0; d < count; ++d) {
    cudaDeviceProp props{};
    if (cudaGetDeviceProperties(&props, d) != cudaSuccess) continue;
    if (props.major >= 8) {  // this binary carries sm_80 / sm_90 code only
      probe.device = d;
      return probe;
    }
    probe.reason = "CUDA device " + std::to_string(d) + " (" + props.name + ", sm_" +
                   std::to_string(props.major) + std::to_string(props.minor) +
                   ") is older than sm_80";
  }
  return probe;
}

cuda_backend::cuda_backend(int device) : device_(device) {
  bind_thread();
  cudaDeviceProp props{};
  ALISA_CUDA_CHECK(cudaGetDeviceProperties(&props, device_));
  device_name_ = props.name;
  sm_major_ = props.major;
  sm_minor_ = props.minor;
  total_memory_ = props.totalGlobalMem;
  ALISA_CUDA_CHECK(cudaStreamCreateWithFlags(&compute_, cudaStreamNonBlocking));
  ALISA_CUDA_CHECK(cudaStreamCreateWithFlags(&copy_, cudaStreamNonBlocking));
  for (auto& e : staging_done_) ALISA_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  blas_ = &cublas_library::get();
  ALISA_CUBLAS_CHECK(blas_->create(&cublas_));
  ALISA_CUBLAS_CHECK(blas_->set_stream(cublas_, compute_));
  // Plain fp32 math for SGEMM (TF32 would leave fp32 results ~1e-3 from the reference).
  ALISA_CUBLAS_CHECK(blas_->set_math_mode(cublas_, CUBLAS_DEFAULT_MATH));
}

cuda_backend::~cuda_backend() {
  cudaSetDevice(device_);
  flush_staged_copy();
  cudaDeviceSynchronize();
  for (auto& [ptr, bytes] : allocations_) cudaFree(ptr);
  if (cublas_) blas_->destroy(cublas_);
  for (auto& e : staging_done_)
    if (e) cudaEventDestroy(e);
  if (copy_) cudaStreamDestroy(copy_);
  if (compute_) cudaStreamDestroy(compute_);
}

std::string cuda_backend::name() const {
  return "cuda(" + device_name_ + ", sm_" + std::to_string(sm_major_) + std::to_string(sm_minor_) +
         ", " + std::to_string(total_memory_ >> 30) + " GiB)";
}

// The current device is per host thread; the runtime drives a backend from whichever thread
// runs its actor, so every entry point makes sure that thread targets this backend's device.
void cuda_backend::bind_thread() const {
  thread_local int bound = -1;
  if (bound == device_) return;
  ALISA_CUDA_CHECK(cudaSetDevice(device_));
  bound = device_;
}

// --- memory --------------------------------------------------------------------------------------

void* cuda_backend::allocate(size_t bytes) {
  bind_thread();
  void* ptr = nullptr;
  ALISA_CUDA_CHECK(cudaMalloc(&ptr, std::max<size_t>(bytes, 1)));  // 256-byte aligned
  ALISA_CUDA_CHECK(cudaMemsetAsync(ptr, 0, bytes, compute_));
  // Rare (set-up, scratch growth): wait, so writers on other streams (staged copies, a peer
  // link's receive) never race the zeroing.
  ALISA_CUDA_CHECK(cudaStreamSynchronize(compute_));
  std::lock_guard lock(mutex_);
  allocations_.emplace(ptr, bytes);
  return ptr;
}

void cuda_backend::release(void* ptr) {
  if (!ptr) return;
  {
    std::lock_guard lock(mutex_);
    if (allocations_.erase(ptr) == 0)
      throw std::invalid_argument("cuda_backend::release: pointer not allocated by this backend");
  }
  bind_thread();
  // Called from destructors (caches, pools, scratch): after a device fault cudaFree fails too, and
  // throwing there would terminate the process, so the error is reported instead.
  const cudaError_t err = cudaFree(ptr);  // implicitly waits for queued work that may still use it
  if (err != cudaSuccess)
    std::fprintf(stderr, "alisa: warning: cudaFree failed: %s (%s)\n", cudaGetErrorName(err),
                 cudaGetErrorString(err));
}

void cuda_backend::upload(void* dst, const void* host_src, size_t bytes) {
  if (bytes == 0) return;
  bind_thread();
  // Pageable source: the runtime stages it before returning, so the caller may reuse it at once.
  ALISA_CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, compute_));
}

void cuda_backend::download(void* host_dst, const void* src, size_t bytes) {
  bind_thread();
  commit_uploads();
  if (bytes == 0) return;
  ALISA_CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, compute_));
  ALISA_CUDA_CHECK(cudaStreamSynchronize(compute_));
}

void cuda_backend::copy(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  bind_thread();
  ALISA_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, compute_));
}

void cuda_backend::upload_async(void* dst, const void* host_src, size_t bytes) {
  if (bytes == 0) return;
  bind_thread();
  int h = staging_half_;
  if (!staged_since_commit_) {
    // First staged copy since the last commit: the half being reused must be drained, and the
    // copies must not overwrite buffers that kernels queued so far still read.
    if (staging_pending_[h]) {
      ALISA_CUDA_CHECK(cudaEventSynchronize(staging_done_[h]));
      staging_pending_[h] = false;
    }
    cudaEvent_t queued = staging_done_[h];
    ALISA_CUDA_CHECK(cudaEventRecord(queued, compute_));
    ALISA_CUDA_CHECK(cudaStreamWaitEvent(copy_, queued, 0));
    staging_used_ = 0;
    staged_since_commit_ = true;
  }
  if (staging_used_ + bytes > staging_[h].size()) {
    if (staging_used_ > 0) {  // this half is full: send it, continue in the other one
      commit_uploads();
      upload_async(dst, host_src, bytes);
      return;
    }
    staging_[h].ensure(std::max(bytes, kStagingHalfBytes));  // drained above, safe to regrow
  }
  auto* slot = static_cast<unsigned char*>(staging_[h].data()) + staging_used_;
  std::memcpy(slot, host_src, bytes);
  staging_used_ += bytes;
  // Rows of one block arrive in order: consecutive destinations from consecutive staging bytes
  // become one copy instead of one per row.
  auto* target = static_cast<unsigned char*>(dst);
  if (pending_.bytes > 0 && pending_.dst + pending_.bytes == target &&
      pending_.src + pending_.bytes == slot) {
    pending_.bytes += bytes;
    return;
  }
  flush_staged_copy();
  pending_ = {target, slot, bytes};
}

void cuda_backend::flush_staged_copy() {
  if (pending_.bytes == 0) return;
  const staged_copy c = pending_;
  pending_ = {};
  ALISA_CUDA_CHECK(cudaMemcpyAsync(c.dst, c.src, c.bytes, cudaMemcpyHostToDevice, copy_));
}

void cuda_backend::commit_uploads() {
  if (!staged_since_commit_) return;
  bind_thread();
  flush_staged_copy();
  const int h = staging_half_;
  ALISA_CUDA_CHECK(cudaEventRecord(staging_done_[h], copy_));
  ALISA_CUDA_CHECK(cudaStreamWaitEvent(compute_, staging_done_[h], 0));
  staging_pending_[h] = true;
  staging_half_ = 1 - h;
  staging_used_ = 0;
  staged_since_commit_ = false;
}

weight_matrix cuda_backend::upload_matrix(const model::tensor_view& weight,
                                          const model::tensor_view& bias, dtype type) {
  if (!weight.present()) throw std::invalid_argument("upload_matrix: weight tensor is absent");
  if (type == dtype::q8_0)
    throw std::invalid_argument(
        "the CUDA backend has no q8_0 kernels yet: pass --dtype fp16 or bf16 (the Q8_0 weights are "
        "dequantised at load) or --backend cpu");
  weight_matrix w;
  w.type = type;
  w.rows = weight.rows();
  w.cols = weight.cols();
  if (bias.present() && bias.num_elements() != w.rows)
    throw std::invalid_argument("upload_matrix: bias length " + std::to_string(bias.num_elements()) +
                                " != rows " + std::to_string(w.rows));
  bind_thread();
  const auto host = converted(weight, type);
  void* data = allocate(host.size());
  upload(data, host.data(), host.size());
  w.data = data;
  if (bias.present()) w.bias = upload_vector(bias);
  return w;
}

const float* cuda_backend::upload_vector(const model::tensor_view& v) {
  if (!v.present()) return nullptr;
  const auto host = converted(v, dtype::f32);
  void* data = allocate(host.size());
  upload(data, host.data(), host.size());
  return static_cast<const float*>(data);
}

const int32_t* cuda_backend::upload_indices(int slot, const int32_t* host, int n) {
  auto& buffer = indices_[static_cast<size_t>(slot)];
  const size_t bytes = static_cast<size_t>(n) * sizeof(int32_t);
  void* dev = buffer.ensure(bytes);
  upload(dev, host, bytes);
  return static_cast<const int32_t*>(dev);
}

// --- ops -----------------------------------------------------------------------------------------

void cuda_backend::embed(const int32_t* tokens, int n, const weight_matrix& table, float* out) {
  if (n <= 0) return;
  bind_thread();
  for (int i = 0; i < n; ++i)
    if (tokens[i] < 0 || tokens[i] >= table.rows)
      throw std::out_of_range("embed: token " + std::to_string(tokens[i]) + " outside [0, " +
                              std::to_string(table.rows) + ")");
  launch_embed(upload_indices(0, tokens, n), n, table, out, compute_);
}

void cuda_backend::linear(const float* x, int n, const weight_matrix& w, float* y) {
  if (n <= 0) return;
  bind_thread();
  if (w.type != dtype::f32 && n <= kGemvMaxRows) {
    launch_linear_row_exact(x, n, w, y, compute_);
    return;
  }
  const float one = 1.0f, zero = 0.0f;
  const int rows = static_cast<int>(w.rows), cols = static_cast<int>(w.cols);
  // Row-major y[n][rows] = x[n][cols] · Wᵀ is, column-major, y (rows x n) = Wᵀᵀ... i.e.
  // C = op(A)·B with A = W viewed column-major as [cols x rows] (transposed) and B = x [cols x n].
  if (w.type == dtype::f32) {
    ALISA_CUBLAS_CHECK(blas_->sgemm(cublas_, CUBLAS_OP_T, CUBLAS_OP_N, rows, n, cols, &one,
                                   static_cast<const float*>(w.data), cols, x, cols, &zero, y,
                                   rows));
  } else {
    const int64_t count = int64_t{n} * cols;
    void* narrow = narrowed_.ensure(static_cast<size_t>(count) * 2);
    launch_narrow(x, count, w.type, narrow, compute_);
    ALISA_CUBLAS_CHECK(blas_->gemm_ex(cublas_, CUBLAS_OP_T, CUBLAS_OP_N, rows, n, cols, &one, w.data,
                                    cuda_type(w.type), cols, narrow, cuda_type(w.type), cols,
                                    &zero, y, CUDA_R_32F, rows, CUBLAS_COMPUTE_32F,
                                    CUBLAS_GEMM_DEFAULT));
  }
  if (w.bias) launch_add_bias(y, n, w.rows, w.bias, compute_);
}

void cuda_backend::linear_row_exact(const float* x, int n, const weight_matrix& w, float* y) {
  if (n <= 0) return;
  bind_thread();
  launch_linear_row_exact(x, n, w, y, compute_);
}

void cuda_backend::rms_norm(const float* x, int n, int dim, const float* gain, float eps,
                            float* y) {
  bind_thread();
  if (n > 0) launch_rms_norm(x, n, dim, gain, eps, y, compute_);
}

void cuda_backend::layer_norm(const float* x, int n, int dim, const float* gain,
                              const float* bias, float eps, float* y) {
  bind_thread();
  if (n > 0) launch_layer_norm(x, n, dim, gain, bias, eps, y, compute_);
}

void cuda_backend::rope(float* x, int n, int num_heads, int head_dim, const int32_t* positions,
                        float theta, model::rope_layout layout) {
  if (layout == model::rope_layout::none || n <= 0) return;
  if (head_dim % 2 != 0) throw std::invalid_argument("rope: head_dim must be even");
  bind_thread();
  launch_rope(x, n, num_heads, head_dim, upload_indices(1, positions, n), theta, layout, compute_);
}

void cuda_backend::silu_mul(const float* gate, const float* up, int64_t count, float* y) {
  bind_thread();
  if (count > 0) launch_silu_mul(gate, up, count, y, compute_);
}

void cuda_backend::relu(float* x, int64_t count) {
  bind_thread();
  if (count > 0) launch_relu(x, count, compute_);
}

void cuda_backend::add(float* x, const float* y, int64_t count) {
  bind_thread();
  if (count > 0) launch_add(x, y, count, compute_);
}

void cuda_backend::append_kv(const kv_rows& dst, int length, const float* rows, int n) {
  if (n <= 0) return;
  check_append_target(dst, length);
  bind_thread();
  launch_append_kv(dst, length, rows, n, compute_);
}

void cuda_backend::gather_kv(const kv_rows& src, const int32_t* offsets, int n, bool staged,
                             float* out) {
  if (n <= 0) return;
  check_gather_source(src);
  bind_thread();
  launch_gather_kv(src, upload_indices(0, offsets, n), n, staged, out, compute_);
}

void cuda_backend::attention(std::span<const attention_item> items, const attention_shape& shape) {
  bind_thread();
  attention_.run(items, shape, compute_);
}

void cuda_backend::synchronize() {
  bind_thread();
  commit_uploads();
  ALISA_CUDA_CHECK(cudaStreamSynchronize(compute_));
}

void cuda_backend::top_k(const float* scores, int count, int k, int32_t* out_indices) {
  if (k <= 0 || k > count)
    throw std::invalid_argument("top_k: k " + std::to_string(k) + " outside [1, count = " +
                                std::to_string(count) + "]");
  bind_thread();
  commit_uploads();
  cuda::top_k(scores, count, k, out_indices, select_, compute_);
}

int32_t cuda_backend::sample_token(const float* logits, int vocab, const sampling_params& params,
                                   double u) {
  if (vocab <= 0) throw std::invalid_argument("sample_token: empty logits");
  bind_thread();
  commit_uploads();
  return cuda::sample_token(logits, vocab, params, u, select_, compute_);
}

// Median over repetitions of one streaming read of `bytes`, timed with events on the stream.
double cuda_backend::measure_read_bandwidth_gbs(size_t bytes, int repetitions) {
  const int64_t count = static_cast<int64_t>(bytes / sizeof(float));
  if (count <= 0 || repetitions <= 0) return 0.0;
  bind_thread();
  auto* data = static_cast<float*>(allocate(static_cast<size_t>(count) * sizeof(float)));
  auto* sum = static_cast<float*>(allocate(sizeof(float)));
  cudaEvent_t start = nullptr, stop = nullptr;
  ALISA_CUDA_CHECK(cudaEventCreate(&start));
  ALISA_CUDA_CHECK(cudaEventCreate(&stop));
  launch_read_sum(data, count, sum, compute_);  // warm-up
  std::vector<double> gbs;
  for (int r = 0; r < repetitions; ++r) {
    ALISA_CUDA_CHECK(cudaEventRecord(start, compute_));
    launch_read_sum(data, count, sum, compute_);
    ALISA_CUDA_CHECK(cudaEventRecord(stop, compute_));
    ALISA_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0.0f;
    ALISA_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    if (ms > 0.0f) gbs.push_back(double(count) * sizeof(float) / (double(ms) * 1e6));
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  release(sum);
  release(data);
  if (gbs.empty()) return 0.0;
  std::sort(gbs.begin(), gbs.end());
  return gbs[gbs.size() / 2];
}

}  // namespace alisa::gpu::cuda
