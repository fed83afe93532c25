// The row-exact projection of the CUDA backend (row_exact_linear.hpp):
//   y[i][r] = Σ_c x[i][c] · w[r][c] (+ bias[r]),
// every output element summed in one fixed order that depends on cols only, never on n, on the
// kernel, tile or pass an element falls in, or on alignment, so a row of y is bit-identical
// whatever n is (K/V recomputed later from stored hidden states equal the originals).
//
// The order. Columns are cut into spans of kSpan = 8; span s belongs to class s % 32, so class l
// owns the columns c with (c / 8) % 32 == l. Each class accumulates its columns in increasing c
// with one fmaf(x, w, acc) chain from +0 (columns at or past cols are skipped, never added as 0);
// the 32 class partials are added by the xor butterfly of warp_sum (offsets 16, 8, 4, 2, 1, as
// lane 0 sees it; every lane gets the same bits since IEEE addition commutes); the bias, if any,
// is added last with one rounding. Weights widen to fp32 exactly (bf16 by shift, f16 by the
// hardware conversion, exact for every finite and infinite value).
//
// Two kernels perform exactly that arithmetic, lane l always being class l:
// - gemv (n <= kGemvRows, decode): one warp per output row, up to kGemvRows x rows per pass with
//   one partial each, so every weight byte is read once (bandwidth-bound like a GEMV).
// - tiled (n > kGemvRows: prefill, recompute): a block of 8 warps owns a tile of 16 x rows × 32
//   output rows, each warp 8 × 8 of them (64 class partials per lane). Both operands go through
//   shared memory one chunk of 256 columns (one span per class) at a time, double-buffered with
//   cp.async, so an x element fetched once feeds 32 output rows and a weight element 16 x rows
//   (gemv re-reads x for every output row: ~550 GB for 4096 × 4096 at n = 8192). The 64 final
//   butterflies run as one halving exchange (each level ships half the values to the partner and
//   keeps the other half): the same pair sums as warp_sum, 62 shuffles instead of 320.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "gpu/cuda/cuda_check.hpp"
#include "gpu/cuda/half_bits.cuh"
#include "gpu/cuda/row_exact_linear.hpp"

namespace alisa::gpu::cuda {
namespace {

constexpr int kSpan = 8;            // consecutive columns per class per step
constexpr int kChunk = 32 * kSpan;  // columns per step: one span of each of the 32 classes
constexpr unsigned kFullMask = 0xffffffffu;

// --- weight widening ----------------------------------------------------------------------------

// One weight element widened to fp32. f16 uses the hardware conversion: exact for every finite
// and infinite value, only a NaN payload may differ from f16_to_f32, which no weight carries.
template <dtype D>
__device__ __forceinline__ float widen(uint16_t bits) {
  if constexpr (D == dtype::bf16)
    return bf16_to_f32(bits);
  else
    return __half2float(__ushort_as_half(bits));
}

// The two 16-bit elements packed in a 32-bit word (lower address = low half), widened.
template <dtype D>
__device__ __forceinline__ void widen_pair(uint32_t word, float& lo, float& hi) {
  if constexpr (D == dtype::bf16) {
    lo = __uint_as_float(word << 16);
    hi = __uint_as_float(word & 0xffff0000u);
  } else {
    __half2_raw raw;
    raw.x = static_cast<unsigned short>(word & 0xffffu);
    raw.y = static_cast<unsigned short>(word >> 16);
    const float2 f = __half22float2(__half2(raw));
    lo = f.x;
    hi = f.y;
  }
}

// --- gemv kernel (n <= kGemvRows) ---------------------------------------------------------------
// One warp per output row r reads the weight row once per group of up to kGemvRows x rows,
// keeping one partial per x row in registers. The kVec variant (16-byte loads, used when cols is
// a multiple of kSpan and both bases are 16-byte aligned) performs exactly the same fmaf sequence
// as the scalar variant.
constexpr int kGemvWarps = 4;  // output rows per block (128 threads)
constexpr int kGemvRows = 8;   // x rows sharing one pass over a weight row
constexpr int kMaxGridY = 65535;

// Loads the kSpan weights of columns [c0, c0 + kSpan) of one row, widened to fp32 (columns at or
// past cols read as 0 and are skipped by the caller).
template <dtype D, bool kVec>
__device__ __forceinline__ void load_w_span(const storage_t<D>* wr, int64_t c0, int64_t cols,
                                            float (&wv)[kSpan]) {
  if constexpr (kVec) {
    if constexpr (D == dtype::f32) {
      const float4 lo = *reinterpret_cast<const float4*>(wr + c0);
      const float4 hi = *reinterpret_cast<const float4*>(wr + c0 + 4);
      wv[0] = lo.x, wv[1] = lo.y, wv[2] = lo.z, wv[3] = lo.w;
      wv[4] = hi.x, wv[5] = hi.y, wv[6] = hi.z, wv[7] = hi.w;
    } else {
      const uint4 raw = *reinterpret_cast<const uint4*>(wr + c0);  // 8 elements, little end first
      widen_pair<D>(raw.x, wv[0], wv[1]);
      widen_pair<D>(raw.y, wv[2], wv[3]);
      widen_pair<D>(raw.z, wv[4], wv[5]);
      widen_pair<D>(raw.w, wv[6], wv[7]);
    }
  } else {
#pragma unroll
    for (int j = 0; j < kSpan; ++j) {
      if (c0 + j < cols) {
        if constexpr (D == dtype::f32)
          wv[j] = wr[c0 + j];
        else
          wv[j] = widen<D>(wr[c0 + j]);
      } else {
        wv[j] = 0.0f;
      }
    }
  }
}

template <dtype D, bool kVec>
__global__ void __launch_bounds__(kGemvWarps * 32)
    linear_row_exact_gemv_kernel(const float* x, int64_t n, const storage_t<D>* w, int64_t rows,
                                 int64_t cols, const float* bias, float* y) {
  const int lane = threadIdx.x & 31;
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kGemvWarps + (threadIdx.x >> 5);
  if (r >= rows) return;  // whole warp: r is uniform across it
  const storage_t<D>* wr = w + r * cols;
  for (int64_t i0 = static_cast<int64_t>(blockIdx.y) * kGemvRows; i0 < n;
       i0 += static_cast<int64_t>(gridDim.y) * kGemvRows) {
    const int m = static_cast<int>(min(static_cast<int64_t>(kGemvRows), n - i0));
    const float* xg = x + i0 * cols;
    float acc[kGemvRows];
#pragma unroll
    for (int k = 0; k < kGemvRows; ++k) acc[k] = 0.0f;
#pragma unroll 2
    for (int64_t c0 = static_cast<int64_t>(lane) * kSpan; c0 < cols; c0 += kChunk) {
      float wv[kSpan];
      load_w_span<D, kVec>(wr, c0, cols, wv);
#pragma unroll
      for (int k = 0; k < kGemvRows; ++k) {
        if (k >= m) break;
        const float* xr = xg + k * cols + c0;
        if constexpr (kVec) {
          const float4 lo = *reinterpret_cast<const float4*>(xr);
          const float4 hi = *reinterpret_cast<const float4*>(xr + 4);
          const float xv[kSpan] = {lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w};
#pragma unroll
          for (int j = 0; j < kSpan; ++j) acc[k] = fmaf(xv[j], wv[j], acc[k]);
        } else {
#pragma unroll
          for (int j = 0; j < kSpan; ++j)
            if (c0 + j < cols) acc[k] = fmaf(xr[j], wv[j], acc[k]);
        }
      }
    }
#pragma unroll
    for (int k = 0; k < kGemvRows; ++k) {
      if (k >= m) break;
      const float s = warp_sum(acc[k]);
      if (lane == 0) y[(i0 + k) * rows + r] = bias ? __fadd_rn(s, bias[r]) : s;
    }
  }
}

// --- tiled kernel (n > kGemvRows) ---------------------------------------------------------------
constexpr int kWarpX = 8;                             // x rows per warp
constexpr int kWarpW = 8;                             // output rows per warp
constexpr int kWarpsX = 2;                            // warps of a block along x rows
constexpr int kWarpsW = 4;                            // warps of a block along output rows
constexpr int kTileX = kWarpsX * kWarpX;              // 16 x rows per block tile
constexpr int kTileW = kWarpsW * kWarpW;              // 32 output rows per block tile
constexpr int kTileThreads = kWarpsX * kWarpsW * 32;  // 256
constexpr int kStages = 2;                            // shared-memory buffers (cp.async)
// Tiles are visited kGroupX x tiles at a time across every weight tile, so the group's x rows and
// the weight tile being read stay in L2 (the weight is streamed from DRAM n / (16 · 32) times).
constexpr int64_t kGroupX = 32;
static_assert(kWarpX * kWarpW == 64, "the halving reduction below assumes 64 partials per lane");
static_assert(kStages == 2, "the pipeline below keeps exactly one chunk in flight");

// Shared layout of a staged chunk, per row: its 256 columns 8s + 4h + e (s = span = class,
// h = half, e < 4) as quads of 4 elements, quad (h, s) at h·32 + (s ^ (h·kQuadSwizzle)). A warp
// reading half h of every class's span touches 32 consecutive quads (no bank conflict), and the
// loaders' stores of consecutive global quads (h alternating) land in distinct banks too.
template <typename T>
constexpr int kQuadSwizzle = sizeof(T) == 4 ? 4 : 8;  // quads per 128 bytes: 8 (fp32), 16 (16-bit)

template <typename T>
__device__ __forceinline__ int quad_offset(int h, int s) {  // in elements
  return (h * 32 + (s ^ (h * kQuadSwizzle<T>))) * 4;
}

template <dtype D>
constexpr int kStageBytes = (kTileX * static_cast<int>(sizeof(float)) +
                             kTileW * static_cast<int>(sizeof(storage_t<D>))) * kChunk;

// cp.async of one 4-element quad (16 or 8 bytes); !ok zero-fills the destination, reading nothing.
template <int kBytes>
__device__ __forceinline__ void cp_async_quad(void* dst, const void* src, bool ok) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
  if constexpr (kBytes == 16)
    *static_cast<uint4*>(dst) = ok ? *static_cast<const uint4*>(src) : make_uint4(0, 0, 0, 0);
  else
    *static_cast<uint2*>(dst) = ok ? *static_cast<const uint2*>(src) : make_uint2(0, 0);
#else
  const auto s = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  if constexpr (kBytes == 16)
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(src),
                 "r"(ok ? 16 : 0)
                 : "memory");
  else
    asm volatile("cp.async.ca.shared.global [%0], [%1], 8, %2;\n" ::"r"(s), "l"(src),
                 "r"(ok ? 8 : 0)
                 : "memory");
#endif
}

__device__ __forceinline__ void cp_async_commit() {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}

// Waits until at most one committed group of this thread is still in flight.
__device__ __forceinline__ void cp_async_wait_one() {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group 1;\n" ::: "memory");
#endif
}

// Where a block's tile of the operands starts and how far they go.
struct tile_operands {
  const float* x;
  int64_t n, x0;  // x rows [x0, x0 + kTileX) ∩ [0, n)
  int64_t rows, r0;  // output rows [r0, r0 + kTileW) ∩ [0, rows)
  int64_t cols;
};

// Stages columns [k0, k0 + kChunk) of the tile's x rows and weight rows with cp.async (cols a
// multiple of kSpan, x and w 16-byte aligned, so a quad is all in or all out). Thread tid copies
// quad q = tid % 64 of rows tid / 64 + 4u.
template <dtype D>
__device__ __forceinline__ void stage_chunk_async(const tile_operands& t, const storage_t<D>* w,
                                                  int64_t k0, float* xs, storage_t<D>* ws,
                                                  int tid) {
  using S = storage_t<D>;
  constexpr int kQuadsPerRow = kChunk / 4;
  constexpr int kRowsPerPass = kTileThreads / kQuadsPerRow;
  static_assert(kTileThreads % kQuadsPerRow == 0 && kTileX % kRowsPerPass == 0 &&
                kTileW % kRowsPerPass == 0);
  const int q = tid % kQuadsPerRow, row = tid / kQuadsPerRow;
  const int64_t c = k0 + 4 * q;
  const bool col_ok = c < t.cols;
  const int64_t stride = kRowsPerPass * t.cols;
  const float* xsrc = t.x + (t.x0 + row) * t.cols + c;
  float* xdst = xs + row * kChunk + quad_offset<float>(q & 1, q >> 1);
#pragma unroll
  for (int u = 0; u < kTileX / kRowsPerPass; ++u) {
    const bool ok = col_ok && t.x0 + row + u * kRowsPerPass < t.n;
    cp_async_quad<16>(xdst + u * kRowsPerPass * kChunk, ok ? xsrc + u * stride : t.x, ok);
  }
  const S* wsrc = w + (t.r0 + row) * t.cols + c;
  S* wdst = ws + row * kChunk + quad_offset<S>(q & 1, q >> 1);
#pragma unroll
  for (int u = 0; u < kTileW / kRowsPerPass; ++u) {
    const bool ok = col_ok && t.r0 + row + u * kRowsPerPass < t.rows;
    cp_async_quad<4 * static_cast<int>(sizeof(S))>(wdst + u * kRowsPerPass * kChunk,
                                                   ok ? wsrc + u * stride : w, ok);
  }
}

// The same with element loads (any cols, any alignment); elements out of range store 0.
template <dtype D>
__device__ __forceinline__ void stage_chunk_sync(const tile_operands& t, const storage_t<D>* w,
                                                 int64_t k0, float* xs, storage_t<D>* ws,
                                                 int tid) {
  using S = storage_t<D>;
  for (int e = tid; e < kTileX * kChunk; e += kTileThreads) {
    const int i = e / kChunk, c = e % kChunk;
    const bool ok = t.x0 + i < t.n && k0 + c < t.cols;
    xs[i * kChunk + quad_offset<float>((c >> 2) & 1, c >> 3) + (c & 3)] =
        ok ? t.x[(t.x0 + i) * t.cols + k0 + c] : 0.0f;
  }
  for (int e = tid; e < kTileW * kChunk; e += kTileThreads) {
    const int r = e / kChunk, c = e % kChunk;
    const bool ok = t.r0 + r < t.rows && k0 + c < t.cols;
    ws[r * kChunk + quad_offset<S>((c >> 2) & 1, c >> 3) + (c & 3)] =
        ok ? w[(t.r0 + r) * t.cols + k0 + c] : S{0};
  }
}

// The 4 weights of one quad (columns 4h..4h+3 of a span), widened.
template <dtype D>
__device__ __forceinline__ void load_w_quad(const storage_t<D>* p, float (&wv)[4]) {
  if constexpr (D == dtype::f32) {
    const float4 v = *reinterpret_cast<const float4*>(p);
    wv[0] = v.x, wv[1] = v.y, wv[2] = v.z, wv[3] = v.w;
  } else {
    const uint2 raw = *reinterpret_cast<const uint2*>(p);  // 4 elements, little end first
    widen_pair<D>(raw.x, wv[0], wv[1]);
    widen_pair<D>(raw.y, wv[2], wv[3]);
  }
}

// One step of every chain of the warp: lane's span (columns 8·lane .. 8·lane + 7 of the staged
// chunk) for its kWarpX x rows (xs) × kWarpW weight rows (ws), column by column in increasing
// order. kPartial: only the first `valid` columns of the span exist (the rest are skipped).
template <dtype D, bool kPartial>
__device__ __forceinline__ void accumulate_span(const float* xs, const storage_t<D>* ws, int lane,
                                                int valid, float (&acc)[kWarpX][kWarpW]) {
#pragma unroll 1  // unrolled, ptxas hoists the second half's loads and spills at 128 registers
  for (int h = 0; h < 2; ++h) {
    float wv[kWarpW][4];
#pragma unroll
    for (int b = 0; b < kWarpW; ++b)
      load_w_quad<D>(ws + b * kChunk + quad_offset<storage_t<D>>(h, lane), wv[b]);
#pragma unroll
    for (int a = 0; a < kWarpX; ++a) {
      const float4 q =
          *reinterpret_cast<const float4*>(xs + a * kChunk + quad_offset<float>(h, lane));
      const float xv[4] = {q.x, q.y, q.z, q.w};
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        if (kPartial && 4 * h + j >= valid) continue;
#pragma unroll
        for (int b = 0; b < kWarpW; ++b) acc[a][b] = fmaf(xv[j], wv[b][j], acc[a][b]);
      }
    }
  }
}

// One level of the halving butterfly: of the N values v[k] a lane holds, the lanes with `offset`
// set keep the upper half, the others the lower half, each adding the partner's value of the same
// k — exactly warp_sum's pair sum at that level for the values kept.
template <int N>
__device__ __forceinline__ void halve(const float (&v)[N], float (&kept)[N / 2], int lane,
                                      int offset) {
  const bool upper = (lane & offset) != 0;
#pragma unroll
  for (int k = 0; k < N / 2; ++k) {
    const float send = upper ? v[k] : v[k + N / 2];
    const float keep = upper ? v[k + N / 2] : v[k];
    kept[k] = keep + __shfl_xor_sync(kFullMask, send, offset);
  }
}

template <dtype D, bool kAsync>
__global__ void __launch_bounds__(kTileThreads, 2)
    linear_row_exact_tiled_kernel(const float* x, int64_t n, const storage_t<D>* w, int64_t rows,
                                  int64_t cols, const float* bias, float* y) {
  using S = storage_t<D>;
  extern __shared__ float4 row_exact_smem[];
  auto* const smem = reinterpret_cast<unsigned char*>(row_exact_smem);
  const auto stage_x = [smem](int st) {
    return reinterpret_cast<float*>(smem + st * kStageBytes<D>);
  };
  const auto stage_w = [smem](int st) {
    return reinterpret_cast<S*>(smem + st * kStageBytes<D> + kTileX * kChunk * sizeof(float));
  };
  const int tid = static_cast<int>(threadIdx.x), lane = tid & 31, warp = tid >> 5;
  const int wx = warp / kWarpsW, ww = warp % kWarpsW;
  const int64_t x_tiles = (n + kTileX - 1) / kTileX, w_tiles = (rows + kTileW - 1) / kTileW;
  const int64_t chunks = (cols + kChunk - 1) / kChunk;
  const int64_t lane_col = static_cast<int64_t>(lane) * kSpan;  // lane's span within a chunk

  for (int64_t tile = blockIdx.x; tile < x_tiles * w_tiles; tile += gridDim.x) {
    const int64_t group = tile / (kGroupX * w_tiles), in_group = tile % (kGroupX * w_tiles);
    const int64_t group_x = min(kGroupX, x_tiles - group * kGroupX);
    const tile_operands t{x,    n, (group * kGroupX + in_group % group_x) * kTileX,
                          rows, (in_group / group_x) * kTileW, cols};

    float acc[kWarpX][kWarpW];
#pragma unroll
    for (int a = 0; a < kWarpX; ++a)
#pragma unroll
      for (int b = 0; b < kWarpW; ++b) acc[a][b] = 0.0f;

    if constexpr (kAsync) {
      stage_chunk_async<D>(t, w, 0, stage_x(0), stage_w(0), tid);
      cp_async_commit();
    }
    for (int64_t k = 0; k < chunks; ++k) {
      const int64_t k0 = k * kChunk;
      int st = 0;
      if constexpr (kAsync) {
        st = static_cast<int>(k & 1);
        // Stage k + 1 was last read in step k - 1, which the barrier closing that step ended.
        if (k + 1 < chunks)
          stage_chunk_async<D>(t, w, k0 + kChunk, stage_x(st ^ 1), stage_w(st ^ 1), tid);
        cp_async_commit();  // possibly empty, so "all but the newest group" is always chunk k
        cp_async_wait_one();
      } else {
        stage_chunk_sync<D>(t, w, k0, stage_x(0), stage_w(0), tid);
      }
      __syncthreads();
      const int64_t valid = cols - (k0 + lane_col);
      const float* xs = stage_x(st) + wx * kWarpX * kChunk;
      const S* ws = stage_w(st) + ww * kWarpW * kChunk;
      if (valid >= kSpan)
        accumulate_span<D, false>(xs, ws, lane, kSpan, acc);
      else if (valid > 0)
        accumulate_span<D, true>(xs, ws, lane, static_cast<int>(valid), acc);
      __syncthreads();
    }

    // The 64 butterflies (value v = a·kWarpW + b) by halving: lane l ends with v = 2l and 2l + 1.
    float v64[64], v32[32], v16[16], v8[8], v4[4], v2[2];
#pragma unroll
    for (int a = 0; a < kWarpX; ++a)
#pragma unroll
      for (int b = 0; b < kWarpW; ++b) v64[a * kWarpW + b] = acc[a][b];
    halve<64>(v64, v32, lane, 16);
    halve<32>(v32, v16, lane, 8);
    halve<16>(v16, v8, lane, 4);
    halve<8>(v8, v4, lane, 2);
    halve<4>(v4, v2, lane, 1);
    const int64_t i = t.x0 + wx * kWarpX + (2 * lane) / kWarpW;
#pragma unroll
    for (int u = 0; u < 2; ++u) {
      const int64_t r = t.r0 + ww * kWarpW + (2 * lane + u) % kWarpW;
      if (i < n && r < rows) y[i * rows + r] = bias ? __fadd_rn(v2[u], bias[r]) : v2[u];
    }
  }
}

template <dtype D>
void launch_linear_typed(const float* x, int n, const weight_matrix& w, float* y,
                         cudaStream_t stream) {
  const auto* wd = static_cast<const storage_t<D>*>(w.data);
  const bool vec = w.cols % kSpan == 0 && reinterpret_cast<uintptr_t>(w.data) % 16 == 0 &&
                   reinterpret_cast<uintptr_t>(x) % 16 == 0;
  if (n <= kGemvRows) {
    const dim3 grid(static_cast<unsigned>((w.rows + kGemvWarps - 1) / kGemvWarps),
                    static_cast<unsigned>(
                        std::min<int64_t>((n + kGemvRows - 1) / kGemvRows, kMaxGridY)));
    if (vec)
      linear_row_exact_gemv_kernel<D, true><<<grid, kGemvWarps * 32, 0, stream>>>(
          x, n, wd, w.rows, w.cols, w.bias, y);
    else
      linear_row_exact_gemv_kernel<D, false><<<grid, kGemvWarps * 32, 0, stream>>>(
          x, n, wd, w.rows, w.cols, w.bias, y);
  } else {
    const int64_t tiles = ((n + kTileX - 1) / kTileX) * ((w.rows + kTileW - 1) / kTileW);
    const auto blocks = static_cast<unsigned>(std::min<int64_t>(tiles, int64_t{0x7fffffff}));
    const int smem = (vec ? kStages : 1) * kStageBytes<D>;
    const auto kernel = vec ? linear_row_exact_tiled_kernel<D, true>
                            : linear_row_exact_tiled_kernel<D, false>;
    ALISA_CUDA_CHECK(
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    kernel<<<blocks, kTileThreads, smem, stream>>>(x, n, wd, w.rows, w.cols, w.bias, y);
  }
  ALISA_CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_linear_row_exact(const float* x, int n, const weight_matrix& w, float* y,
                             cudaStream_t stream) {
  if (n <= 0 || w.rows <= 0) return;
  switch (w.type) {
    case dtype::f32: return launch_linear_typed<dtype::f32>(x, n, w, y, stream);
    case dtype::bf16: return launch_linear_typed<dtype::bf16>(x, n, w, y, stream);
    case dtype::f16: return launch_linear_typed<dtype::f16>(x, n, w, y, stream);
    case dtype::q8_0: return;  // never uploaded to this backend (cuda_backend::upload_matrix)
  }
}

}  // namespace alisa::gpu::cuda
