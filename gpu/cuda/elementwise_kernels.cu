// Element-wise, norm and embedding kernels of the CUDA backend
// (elementwise_kernels.hpp). Each kernel mirrors the CPU reference named in its comment:
//   gpu/cpu/kernels.cpp (norms, silu, relu, add), gpu/cpu/cpu_backend.cpp (embed, rope),
//   gpu/cpu/convert.hpp/.cpp (f16/bf16 bit conversions).
//
// Rounding: nvcc contracts a*b+c into FMA by default (-fmad=true). Where the CPU rounds a product
// and a sum separately and the result should match bit for bit (rope, the scale step of the
// norms, narrowing), the device code spells the operations out with __fmul_rn / __fadd_rn /
// __fsub_rn / __fdiv_rn / __fsqrt_rn, which are never contracted. Reductions (norm statistics,
// read_sum) use float partials and a fixed warp-shuffle tree: deterministic for a given shape, not
// bit-equal to the CPU's SIMD order (the norms' contract is fp32 relative 1e-4).
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>

#include "gpu/cuda/cuda_check.hpp"
#include "gpu/cuda/half_bits.cuh"
#include "gpu/cuda/elementwise_kernels.hpp"

namespace alisa::gpu::cuda {
namespace {

constexpr int kThreads = 256;  // block size of the flat element-wise kernels

// Blocks for a grid-stride loop over `count` elements: one element per thread while that fits a
// modest grid, otherwise the threads loop (64-bit indices throughout).
unsigned flat_blocks(int64_t count) {
  constexpr int64_t kMaxBlocks = int64_t{1} << 18;
  return static_cast<unsigned>(std::min<int64_t>((count + kThreads - 1) / kThreads, kMaxBlocks));
}

// --- reductions ---------------------------------------------------------------------------------

// Sum over the block (blockDim.x a multiple of 32), returned to every thread. Safe to call
// repeatedly: the trailing barrier orders the next call's writes after this call's reads.
__device__ float block_sum(float v) {
  __shared__ float partial[32];
  __shared__ float total;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float s = lane < static_cast<int>(blockDim.x >> 5) ? partial[lane] : 0.0f;
    s = warp_sum(s);
    if (lane == 0) total = s;
  }
  __syncthreads();
  return total;
}

// Threads per block of the one-block-per-row norm kernels: enough for ~4 elements each.
int norm_threads(int dim) {
  if (dim >= 4096) return 1024;
  if (dim >= 2048) return 512;
  if (dim >= 1024) return 256;
  return 128;
}

// --- kernels ------------------------------------------------------------------------------------

// embed: out[i][c] = widen(table[tokens[i]][c]) (cpu_backend::embed on a plain row-major table).
// Row-wise grid (rows_grid): consecutive threads read consecutive columns of one table row.
template <dtype D>
__global__ void embed_kernel(const int32_t* tokens, int64_t n, const storage_t<D>* table,
                             int64_t cols, float* out) {
  for (int64_t i = blockIdx.y; i < n; i += gridDim.y) {
    const storage_t<D>* src = table + static_cast<int64_t>(tokens[i]) * cols;
    float* dst = out + i * cols;
    for (int64_t c = flat_index(); c < cols; c += flat_stride()) {
      if constexpr (D == dtype::f32)
        dst[c] = src[c];
      else if constexpr (D == dtype::bf16)
        dst[c] = bf16_to_f32(src[c]);
      else
        dst[c] = f16_to_f32(src[c]);
    }
  }
}

// rms_norm (kernels.cpp RmsNormRow): y = x · (1 / sqrt(Σx²/dim + eps)) · gain. One block per row;
// the sum of squares is a float block reduction, the scaling step rounds like the CPU's
// Mul(Mul(x, scale), gain). y may alias x: every thread reads its elements before the barrier
// inside block_sum and writes only its own elements afterwards.
__global__ void rms_norm_kernel(const float* x, int dim, const float* gain, float eps, float* y) {
  const int64_t row = blockIdx.x;
  const float* xr = x + row * dim;
  float* yr = y + row * dim;
  float ss = 0.0f;
  for (int c = threadIdx.x; c < dim; c += blockDim.x) ss = fmaf(xr[c], xr[c], ss);
  ss = block_sum(ss);
  const float mean_sq = __fdiv_rn(ss, static_cast<float>(dim));
  const float inv = __fdiv_rn(1.0f, __fsqrt_rn(__fadd_rn(mean_sq, eps)));
  for (int c = threadIdx.x; c < dim; c += blockDim.x) {
    float v = __fmul_rn(xr[c], inv);
    if (gain) v = __fmul_rn(v, gain[c]);
    yr[c] = v;
  }
}

// layer_norm (kernels.cpp LayerNormRow): two passes as on the CPU (mean, then the centred squares,
// which cancels far less than E[x²] - mean²), then y = (x - mean) · inv · gain + bias with each
// operation rounded separately. One block per row; aliasing as for rms_norm.
__global__ void layer_norm_kernel(const float* x, int dim, const float* gain, const float* bias,
                                  float eps, float* y) {
  const int64_t row = blockIdx.x;
  const float* xr = x + row * dim;
  float* yr = y + row * dim;
  float s = 0.0f;
  for (int c = threadIdx.x; c < dim; c += blockDim.x) s += xr[c];
  const float mean = __fdiv_rn(block_sum(s), static_cast<float>(dim));
  float sq = 0.0f;
  for (int c = threadIdx.x; c < dim; c += blockDim.x) {
    const float d = __fsub_rn(xr[c], mean);
    sq = fmaf(d, d, sq);
  }
  const float var = __fdiv_rn(block_sum(sq), static_cast<float>(dim));
  const float inv = __fdiv_rn(1.0f, __fsqrt_rn(__fadd_rn(var, eps)));
  for (int c = threadIdx.x; c < dim; c += blockDim.x) {
    float v = __fmul_rn(__fsub_rn(xr[c], mean), inv);
    if (gain) v = __fmul_rn(v, gain[c]);
    if (bias) v = __fadd_rn(v, bias[c]);
    yr[c] = v;
  }
}

// Host-computed inverse frequencies for rope: std::pow on the host is the very call the CPU
// backend makes, so the frequencies are bit-identical. 2 KiB, well inside the kernel-parameter
// limit; heads wider than 2·kMaxRopeHalf compute the rest with the device pow (within 2 ulp).
constexpr int kMaxRopeHalf = 256;
struct rope_freqs {
  double inv_freq[kMaxRopeHalf];
};

// rope (cpu_backend::rope): one block per token row. The block first evaluates cos/sin of
// pos · inv_freq[i] in double for the row's `half` frequencies into shared memory (once per row,
// not once per head), then rotates every (head, pair) of the row:
//   a' = a·c - b·s,  b' = a·s + b·c   (float, each product and sum rounded separately).
// Pairs are (i, i + half) for rotate_half and (2i, 2i + 1) for interleaved.
__global__ void rope_kernel(float* x, int num_heads, int head_dim, const int32_t* positions,
                            rope_freqs freqs, double theta, bool interleaved) {
  extern __shared__ float cs[];  // cos[half] then sin[half]
  const int half = head_dim / 2;
  const int64_t row = blockIdx.x;
  const double pos = positions[row];
  for (int i = threadIdx.x; i < half; i += blockDim.x) {
    const double inv_freq =
        i < kMaxRopeHalf ? freqs.inv_freq[i] : pow(theta, -2.0 * i / head_dim);
    const double angle = pos * inv_freq;
    cs[i] = static_cast<float>(cos(angle));
    cs[half + i] = static_cast<float>(sin(angle));
  }
  __syncthreads();
  float* xr = x + row * num_heads * head_dim;
  const int pairs = num_heads * half;
  for (int p = threadIdx.x; p < pairs; p += blockDim.x) {
    const int h = p / half, i = p - h * half;
    float* v = xr + static_cast<int64_t>(h) * head_dim;
    float* a = interleaved ? v + 2 * i : v + i;
    float* b = interleaved ? v + 2 * i + 1 : v + i + half;
    const float c = cs[i], s = cs[half + i];
    const float a0 = *a, b0 = *b;
    *a = __fsub_rn(__fmul_rn(a0, c), __fmul_rn(b0, s));
    *b = __fadd_rn(__fmul_rn(a0, s), __fmul_rn(b0, c));
  }
}

// silu_mul (kernels.cpp SiluMul, scalar form): y = g / (1 + exp(-g)) · u. expf is accurate to a
// couple of ulp, as is the CPU's vector Exp, so this matches to rounding, not bit for bit.
__global__ void silu_mul_kernel(const float* gate, const float* up, int64_t count, float* y) {
  for (int64_t k = flat_index(); k < count; k += flat_stride()) {
    const float g = gate[k];
    y[k] = __fmul_rn(__fdiv_rn(g, __fadd_rn(1.0f, expf(-g))), up[k]);
  }
}

// relu (kernels.cpp Relu, scalar form): x > 0 ? x : 0 (NaN -> 0).
__global__ void relu_kernel(float* x, int64_t count) {
  for (int64_t k = flat_index(); k < count; k += flat_stride()) x[k] = x[k] > 0.0f ? x[k] : 0.0f;
}

// add (kernels.cpp Add): x += y.
__global__ void add_kernel(float* x, const float* y, int64_t count) {
  for (int64_t k = flat_index(); k < count; k += flat_stride()) x[k] = __fadd_rn(x[k], y[k]);
}

// add_bias: y[i][r] += bias[r]; row-wise grid (rows_grid), no per-element division.
__global__ void add_bias_kernel(float* y, int64_t n, int64_t rows, const float* bias) {
  for (int64_t i = blockIdx.y; i < n; i += gridDim.y) {
    float* yr = y + i * rows;
    for (int64_t r = flat_index(); r < rows; r += flat_stride()) yr[r] = __fadd_rn(yr[r], bias[r]);
  }
}

// narrow: dst[k] = x[k] rounded to nearest even in f16 / bf16 (convert.hpp bit twins).
template <dtype D>
__global__ void narrow_kernel(const float* x, int64_t count, uint16_t* dst) {
  for (int64_t k = flat_index(); k < count; k += flat_stride())
    dst[k] = D == dtype::bf16 ? f32_to_bf16(x[k]) : f32_to_f16(x[k]);
}

// --- read_sum -----------------------------------------------------------------------------------
// Streams count4 aligned float4s (four independent 16-byte loads in flight per thread per step),
// plus the up-to-3 unaligned head floats and the tail (block 0, thread 0), reduces per block and
// adds the block's sum into *result. The sum only keeps the reads alive; its rounding is moot.
constexpr int kSumThreads = 256;

__global__ void __launch_bounds__(kSumThreads)
    read_sum_kernel(const float* head, int head_count, const float4* body, int64_t count4,
                    const float* tail, int tail_count, float* result) {
  const int64_t stride = flat_stride();
  float4 s0 = make_float4(0.f, 0.f, 0.f, 0.f), s1 = s0, s2 = s0, s3 = s0;
  int64_t k = flat_index();
  for (; k + 3 * stride < count4; k += 4 * stride) {
    const float4 a = body[k], b = body[k + stride], c = body[k + 2 * stride],
                 d = body[k + 3 * stride];
    s0.x += a.x, s0.y += a.y, s0.z += a.z, s0.w += a.w;
    s1.x += b.x, s1.y += b.y, s1.z += b.z, s1.w += b.w;
    s2.x += c.x, s2.y += c.y, s2.z += c.z, s2.w += c.w;
    s3.x += d.x, s3.y += d.y, s3.z += d.z, s3.w += d.w;
  }
  for (; k < count4; k += stride) {
    const float4 a = body[k];
    s0.x += a.x, s0.y += a.y, s0.z += a.z, s0.w += a.w;
  }
  float s = (s0.x + s0.y + s0.z + s0.w) + (s1.x + s1.y + s1.z + s1.w) +
            (s2.x + s2.y + s2.z + s2.w) + (s3.x + s3.y + s3.z + s3.w);
  if (blockIdx.x == 0 && threadIdx.x == 0) {
    for (int i = 0; i < head_count; ++i) s += head[i];
    for (int i = 0; i < tail_count; ++i) s += tail[i];
  }
  s = block_sum(s);
  if (threadIdx.x == 0) atomicAdd(result, s);
}

int multiprocessor_count() {
  int device = 0, sms = 0;
  ALISA_CUDA_CHECK(cudaGetDevice(&device));
  ALISA_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  return std::max(sms, 1);
}

}  // namespace

void launch_embed(const int32_t* tokens, int n, const weight_matrix& table, float* out,
                  cudaStream_t stream) {
  if (n <= 0 || table.cols <= 0) return;
  const dim3 blocks = rows_grid(n, table.cols, kThreads);
  switch (table.type) {
    case dtype::f32:
      embed_kernel<dtype::f32><<<blocks, kThreads, 0, stream>>>(
          tokens, n, static_cast<const float*>(table.data), table.cols, out);
      break;
    case dtype::bf16:
      embed_kernel<dtype::bf16><<<blocks, kThreads, 0, stream>>>(
          tokens, n, static_cast<const uint16_t*>(table.data), table.cols, out);
      break;
    case dtype::f16:
      embed_kernel<dtype::f16><<<blocks, kThreads, 0, stream>>>(
          tokens, n, static_cast<const uint16_t*>(table.data), table.cols, out);
      break;
  }
  ALISA_CUDA_CHECK_LAUNCH();
}

void launch_rms_norm(const float* x, int n, int dim, const float* gain, float eps, float* y,
                     cudaStream_t stream) {
  if (n <= 0 || dim <= 0) return;
  rms_norm_kernel<<<static_cast<unsigned>(n), norm_threads(dim), 0, stream>>>(x, dim, gain, eps, y);
  ALISA_CUDA_CHECK_LAUNCH();
}

void launch_layer_norm(const float* x, int n, int dim, const float* gain, const float* bias,
                       float eps, float* y, cudaStream_t stream) {
  if (n <= 0 || dim <= 0) return;
  layer_norm_kernel<<<static_cast<unsigned>(n), norm_threads(dim), 0, stream>>>(x, dim, gain, bias,
                                                                                eps, y);
  ALISA_CUDA_CHECK_LAUNCH();
}

void launch_rope(float* x, int n, int num_heads, int head_dim, const int32_t* positions,
                 float theta, model::rope_layout layout, cudaStream_t stream) {
  if (layout == model::rope_layout::none || n <= 0 || num_heads <= 0) return;
  if (head_dim % 2 != 0) throw std::invalid_argument("rope: head_dim must be even");
  if (head_dim == 0) return;
  const int half = head_dim / 2;
  rope_freqs freqs{};
  for (int i = 0; i < std::min(half, kMaxRopeHalf); ++i)
    freqs.inv_freq[i] = std::pow(static_cast<double>(theta), -2.0 * i / head_dim);
  const int pairs = num_heads * half;
  const int threads = pairs >= 256 ? 256 : pairs > 64 ? 128 : 64;
  const size_t shared = static_cast<size_t>(head_dim / 2) * 2 * sizeof(float);
  rope_kernel<<<static_cast<unsigned>(n), threads, shared, stream>>>(
      x, num_heads, head_dim, positions, freqs, static_cast<double>(theta),
      layout == model::rope_layout::interleaved);
  ALISA_CUDA_CHECK_LAUNCH();
}

void launch_silu_mul(const float* gate, const float* up, int64_t count, float* y,
                     cudaStream_t stream) {
  if (count <= 0) return;
  silu_mul_kernel<<<flat_blocks(count), kThreads, 0, stream>>>(gate, up, count, y);
  ALISA_CUDA_CHECK_LAUNCH();
}

void launch_relu(float* x, int64_t count, cudaStream_t stream) {
  if (count <= 0) return;
  relu_kernel<<<flat_blocks(count), kThreads, 0, stream>>>(x, count);
  ALISA_CUDA_CHECK_LAUNCH();
}

void launch_add(float* x, const float* y, int64_t count, cudaStream_t stream) {
  if (count <= 0) return;
  add_kernel<<<flat_blocks(count), kThreads, 0, stream>>>(x, y, count);
  ALISA_CUDA_CHECK_LAUNCH();
}

void launch_add_bias(float* y, int n, int64_t rows, const float* bias, cudaStream_t stream) {
  if (n <= 0 || rows <= 0 || !bias) return;
  add_bias_kernel<<<rows_grid(n, rows, kThreads), kThreads, 0, stream>>>(y, n, rows, bias);
  ALISA_CUDA_CHECK_LAUNCH();
}

void launch_narrow(const float* x, int64_t count, dtype type, void* dst, cudaStream_t stream) {
  if (count <= 0) return;
  auto* out = static_cast<uint16_t*>(dst);
  switch (type) {
    case dtype::bf16:
      narrow_kernel<dtype::bf16><<<flat_blocks(count), kThreads, 0, stream>>>(x, count, out);
      break;
    case dtype::f16:
      narrow_kernel<dtype::f16><<<flat_blocks(count), kThreads, 0, stream>>>(x, count, out);
      break;
    case dtype::f32:  // nothing to narrow: a plain copy keeps the contract "dst = x in type"
      ALISA_CUDA_CHECK(cudaMemcpyAsync(dst, x, static_cast<size_t>(count) * sizeof(float),
                                       cudaMemcpyDeviceToDevice, stream));
      return;
    case dtype::q8_0:  // not an activation type
      return;
  }
  ALISA_CUDA_CHECK_LAUNCH();
}

void launch_read_sum(const float* p, int64_t count, float* result, cudaStream_t stream) {
  if (count <= 0) return;
  // Split off the floats before the first 16-byte boundary so the body can use float4 loads.
  const int64_t misalign = static_cast<int64_t>(reinterpret_cast<uintptr_t>(p) % 16) / 4;
  const int64_t head = std::min<int64_t>(misalign == 0 ? 0 : 4 - misalign, count);
  const int64_t count4 = (count - head) / 4;
  const int64_t tail = count - head - count4 * 4;
  const float* body = p + head;
  const int64_t blocks_needed = std::max<int64_t>((count4 + kSumThreads - 1) / kSumThreads, 1);
  const auto blocks = static_cast<unsigned>(
      std::min<int64_t>(blocks_needed, int64_t{multiprocessor_count()} * 8));
  read_sum_kernel<<<blocks, kSumThreads, 0, stream>>>(p, static_cast<int>(head),
                                                      reinterpret_cast<const float4*>(body), count4,
                                                      body + count4 * 4, static_cast<int>(tail),
                                                      result);
  ALISA_CUDA_CHECK_LAUNCH();
}

}  // namespace alisa::gpu::cuda
