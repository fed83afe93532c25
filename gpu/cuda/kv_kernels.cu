// KV-row kernels of the CUDA backend (kv_kernels.hpp): append_kv writes fp32 rows into a cache
// layer in its storage dtype, gather_kv reads rows back as fp32. Bit-exact twins of the CPU codec
// (gpu/cpu/kv_codec.cpp, gpu/cpu/convert.hpp/.cpp):
// - f16 / bf16: the CPU's own bit manipulations, so rounding (nearest even) and NaN encodings agree.
// - i8: per channel of a complete 64-row chunk, min / max folded like the CPU's vector path
//   (x86 minps/maxps: a < b ? a : b, a > b ? a : b), scale = (max - min) / 255 with IEEE division,
//   code = rint((x - min) / scale) clamped like Min(Max(code, 0), 255), 0 when scale == 0;
//   decode min + scale · code with the product and the sum rounded separately (the CPU's gather
//   is compiled without FMA contraction; nvcc would contract it, hence __fmul_rn / __fadd_rn).
// The per-element math is in __host__ __device__ functions so it can be checked against the CPU
// code on a machine without a GPU.
#include <cuda_runtime.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

#include "gpu/cuda/cuda_check.hpp"
#include "gpu/cuda/half_bits.cuh"
#include "gpu/cuda/kv_codec_bits.cuh"
#include "gpu/cuda/kv_kernels.hpp"

namespace alisa::gpu::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kChunk = kv_chunk_tokens;

unsigned flat_blocks(int64_t count) {
  constexpr int64_t kMaxBlocks = int64_t{1} << 18;
  return static_cast<unsigned>(std::min<int64_t>((count + kThreads - 1) / kThreads, kMaxBlocks));
}

// --- kernels ------------------------------------------------------------------------------------

// f16 / bf16 append: out[k] = narrow(rows[k]) over the n·kv_dim elements (kv_codec append_rows).
template <kv_dtype T>
__global__ void narrow_rows_kernel(const float* rows, int64_t count, uint16_t* out) {
  for (int64_t k = flat_index(); k < count; k += flat_stride())
    out[k] = T == kv_dtype::bf16 ? f32_to_bf16(rows[k]) : f32_to_f16(rows[k]);
}

// i8 append, step 1: quantises the chunks this append completes. Chunk `first_chunk + blockIdx.y`,
// one thread per channel (grid.x covers kv_dim), so each of the 64 row reads is coalesced across
// a warp. Row t of the chunk (position p = 64·chunk + t) is input row p - length when p >= length,
// else the staging row t written by an earlier append: exactly what the CPU's staging holds when
// it quantises, without staging the rows first (one append may complete several chunks and the
// staging holds only one). Runs before step 2 rewrites the staging.
__global__ void quantize_chunks_kernel(const float* rows, int64_t length, const float* staging,
                                       int64_t dim, int64_t first_chunk, uint8_t* codes,
                                       float* minimum, float* scale) {
  const int64_t c = flat_index();
  if (c >= dim) return;
  const int64_t chunk = first_chunk + blockIdx.y;
  const int64_t base = chunk * kChunk;
  auto value = [&](int64_t t) {
    const int64_t pos = base + t;
    return pos >= length ? rows[(pos - length) * dim + c] : staging[t * dim + c];
  };
  quantize_channel(value, minimum[chunk * dim + c], scale[chunk * dim + c],
                   [&](int t, uint8_t code) { codes[(base + t) * dim + c] = code; });
}

// i8 append, step 2: leaves the staging as the CPU's row-by-row loop does: slot p % 64 holds the
// last appended row of that slot, i.e. the rows of positions [max(length, end - 64), end).
// Flat over those rows' elements.
__global__ void stage_rows_kernel(const float* rows, int64_t length, int64_t first_pos,
                                  int64_t count, int64_t dim, float* staging) {
  for (int64_t k = flat_index(); k < count; k += flat_stride()) {
    const int64_t r = k / dim, c = k - r * dim;
    const int64_t pos = first_pos + r;
    staging[(pos % kChunk) * dim + c] = rows[(pos - length) * dim + c];
  }
}

// gather: out[i][c] = fp32 value of row offsets[i] (kv_codec gather_row). Row-wise grid
// (rows_grid): consecutive threads read consecutive channels of one row. i8 with `staged` reads
// every row from staging slot offset % 64, as the CPU does.
template <kv_dtype T>
__global__ void gather_kernel(const void* data, const float* minimum, const float* scale,
                              const float* staging, bool staged, const int32_t* offsets, int64_t n,
                              int64_t dim, float* out) {
  for (int64_t i = blockIdx.y; i < n; i += gridDim.y) {
    const int64_t offset = offsets[i];
    float* o = out + i * dim;
    for (int64_t c = flat_index(); c < dim; c += flat_stride()) {
      if constexpr (T == kv_dtype::f32) {
        o[c] = static_cast<const float*>(data)[offset * dim + c];
      } else if constexpr (T == kv_dtype::f16) {
        o[c] = f16_to_f32(static_cast<const uint16_t*>(data)[offset * dim + c]);
      } else if constexpr (T == kv_dtype::bf16) {
        o[c] = bf16_to_f32(static_cast<const uint16_t*>(data)[offset * dim + c]);
      } else if (staged) {
        o[c] = staging[(offset % kChunk) * dim + c];
      } else {
        const int64_t stat = (offset / kChunk) * dim + c;
        o[c] = dequantize(minimum[stat], scale[stat],
                          static_cast<const uint8_t*>(data)[offset * dim + c]);
      }
    }
  }
}

template <kv_dtype T>
void launch_gather_typed(const kv_rows& src, const int32_t* offsets, int64_t n, bool staged,
                         float* out, cudaStream_t stream) {
  gather_kernel<T><<<rows_grid(n, src.kv_dim, kThreads), kThreads, 0, stream>>>(
      src.data, src.minimum, src.scale, src.staging, staged, offsets, n, src.kv_dim, out);
  ALISA_CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_append_kv(const kv_rows& dst, int length, const float* rows, int n,
                      cudaStream_t stream) {
  if (n <= 0 || dst.kv_dim <= 0) return;
  const int64_t dim = dst.kv_dim;
  const int64_t count = static_cast<int64_t>(n) * dim;
  switch (dst.type) {
    case kv_dtype::f32:
      ALISA_CUDA_CHECK(cudaMemcpyAsync(static_cast<float*>(dst.data) + length * dim, rows,
                                       static_cast<size_t>(count) * sizeof(float),
                                       cudaMemcpyDeviceToDevice, stream));
      return;
    case kv_dtype::f16:
      narrow_rows_kernel<kv_dtype::f16><<<flat_blocks(count), kThreads, 0, stream>>>(
          rows, count, static_cast<uint16_t*>(dst.data) + length * dim);
      ALISA_CUDA_CHECK_LAUNCH();
      return;
    case kv_dtype::bf16:
      narrow_rows_kernel<kv_dtype::bf16><<<flat_blocks(count), kThreads, 0, stream>>>(
          rows, count, static_cast<uint16_t*>(dst.data) + length * dim);
      ALISA_CUDA_CHECK_LAUNCH();
      return;
    case kv_dtype::i8: {
      const int64_t begin = length, end = static_cast<int64_t>(length) + n;
      // Chunks whose last position (64c + 63) lies in [begin, end).
      const int64_t first_chunk = begin / kChunk;
      const int64_t num_chunks = end / kChunk - first_chunk;
      if (num_chunks > 0) {
        // grid.y is limited to 65535 chunks (4M positions) per launch: split beyond that.
        constexpr int64_t kMaxChunksPerLaunch = 65535;
        const unsigned blocks_x = static_cast<unsigned>((dim + kThreads - 1) / kThreads);
        for (int64_t c0 = 0; c0 < num_chunks; c0 += kMaxChunksPerLaunch) {
          const dim3 grid(blocks_x,
                          static_cast<unsigned>(std::min(kMaxChunksPerLaunch, num_chunks - c0)));
          quantize_chunks_kernel<<<grid, kThreads, 0, stream>>>(
              rows, begin, dst.staging, dim, first_chunk + c0, static_cast<uint8_t*>(dst.data),
              dst.minimum, dst.scale);
          ALISA_CUDA_CHECK_LAUNCH();
        }
      }
      const int64_t first_staged = std::max(begin, end - kChunk);
      const int64_t staged = (end - first_staged) * dim;
      stage_rows_kernel<<<flat_blocks(staged), kThreads, 0, stream>>>(rows, begin, first_staged,
                                                                      staged, dim, dst.staging);
      ALISA_CUDA_CHECK_LAUNCH();
      return;
    }
  }
}

void launch_gather_kv(const kv_rows& src, const int32_t* offsets, int n, bool staged, float* out,
                      cudaStream_t stream) {
  if (n <= 0 || src.kv_dim <= 0) return;
  switch (src.type) {
    case kv_dtype::f32: return launch_gather_typed<kv_dtype::f32>(src, offsets, n, staged, out, stream);
    case kv_dtype::f16: return launch_gather_typed<kv_dtype::f16>(src, offsets, n, staged, out, stream);
    case kv_dtype::bf16:
      return launch_gather_typed<kv_dtype::bf16>(src, offsets, n, staged, out, stream);
    case kv_dtype::i8: return launch_gather_typed<kv_dtype::i8>(src, offsets, n, staged, out, stream);
  }
}

}  // namespace alisa::gpu::cuda
