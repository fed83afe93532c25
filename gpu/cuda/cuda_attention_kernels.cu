// The CUDA attention kernels (see cuda_attention.hpp for the design, attention_work.hpp for the
// work table). Every block has attn::kThreads threads. Arithmetic per (row, query head) follows a
// fixed order that depends only on that row's list and head, never on the batch, the grid or the
// scheduling, so results are deterministic and a list of every position gives the dense bits.
//
// Scores: s_j = Σ_d (scale·q[d])·k_j[d], a warp per list entry (kScoreUnroll entries at a time;
// lanes over d, a sequential FMA chain per lane, then an xor butterfly, which leaves the same sum
// in every lane). K/V are read in their stored dtype (token_row), dispatched once per loop.
// Online softmax over tiles of kTile entries: m' = max(m, max_j s_j), α = exp(m - m'),
// e_j = exp(s_j - m'), l' = α·l + Σ_j e_j, o' = α·o + Σ_j e_j v_j.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "gpu/cuda/attention_work.hpp"
#include "gpu/cuda/cuda_check.hpp"

namespace alisa::gpu::cuda::attn {
namespace {

constexpr int kWarps = kThreads / 32;
constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kMaxOwned = (kMaxHeadDim + kThreads - 1) / kThreads;  // o channels per thread
constexpr int kScoreUnroll = 4;  // list entries a warp scores at once
static_assert(kThreads % 32 == 0 && kTile == kThreads, "one score per thread in a tile");

// One kv head's rows of a kv_table as an item reads them.
struct head_rows {
  const void* data;
  const float* minimum;
  const float* scale;
  const float* staging;
  int64_t kv_dim;
  int64_t offset;  // kv_head * head_dim
  int32_t quantized_len;
  int32_t type;
};

__device__ __forceinline__ head_rows head_of(const kv_table& t, int kv_head, int head_dim,
                                             int32_t quantized_len) {
  head_rows r;
  r.data = t.data;
  r.minimum = t.minimum;
  r.scale = t.scale;
  r.staging = t.staging;
  r.kv_dim = t.kv_dim;
  r.offset = int64_t{kv_head} * head_dim;
  r.quantized_len = quantized_len;
  r.type = t.type;
  return r;
}

__device__ __forceinline__ float bf16_to_float(uint16_t bits) {
  return __uint_as_float(static_cast<uint32_t>(bits) << 16);
}

// One position's channels of one kv head in stored dtype T (a kv_code); at(d) widens channel d
// to fp32 (int8: min + scale·code below quantized_len, the exact staging row above).
template <int T>
struct token_row;

template <>
struct token_row<kv_f32> {
  const float* p;
  token_row() = default;
  __device__ __forceinline__ token_row(const head_rows& r, int32_t pos)
      : p(static_cast<const float*>(r.data) + int64_t{pos} * r.kv_dim + r.offset) {}
  __device__ __forceinline__ float at(int d) const { return p[d]; }
};

template <>
struct token_row<kv_f16> {
  const __half* p;
  token_row() = default;
  __device__ __forceinline__ token_row(const head_rows& r, int32_t pos)
      : p(static_cast<const __half*>(r.data) + int64_t{pos} * r.kv_dim + r.offset) {}
  __device__ __forceinline__ float at(int d) const { return __half2float(p[d]); }
};

template <>
struct token_row<kv_bf16> {
  const uint16_t* p;
  token_row() = default;
  __device__ __forceinline__ token_row(const head_rows& r, int32_t pos)
      : p(static_cast<const uint16_t*>(r.data) + int64_t{pos} * r.kv_dim + r.offset) {}
  __device__ __forceinline__ float at(int d) const { return bf16_to_float(p[d]); }
};

template <>
struct token_row<kv_i8> {
  const float* staged;  // the chunk being filled: exact fp32 rows; nullptr below quantized_len
  const uint8_t* codes;
  const float* mn;
  const float* sc;
  token_row() = default;
  __device__ __forceinline__ token_row(const head_rows& r, int32_t pos) {
    if (pos >= r.quantized_len) {
      staged = r.staging + int64_t{pos % kChunkTokens} * r.kv_dim + r.offset;
      codes = nullptr;
      mn = sc = nullptr;
    } else {
      staged = nullptr;
      codes = static_cast<const uint8_t*>(r.data) + int64_t{pos} * r.kv_dim + r.offset;
      const int64_t stats = int64_t{pos / kChunkTokens} * r.kv_dim + r.offset;
      mn = r.minimum + stats;
      sc = r.scale + stats;
    }
  }
  __device__ __forceinline__ float at(int d) const {
    return staged ? staged[d] : fmaf(sc[d], static_cast<float>(codes[d]), mn[d]);
  }
};

// Calls f.template operator()<T>() with T the kv_code `type` (block- or warp-uniform).
template <typename F>
__device__ __forceinline__ void with_type(int32_t type, F&& f) {
  switch (type) {
    case kv_f32: f.template operator()<kv_f32>(); return;
    case kv_f16: f.template operator()<kv_f16>(); return;
    case kv_bf16: f.template operator()<kv_bf16>(); return;
    default: f.template operator()<kv_i8>(); return;
  }
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFullMask, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, o));
  return v;
}

// s_u = Σ_d qs(d) · k_u[d] for U positions at once (independent loads in flight); called by all
// 32 lanes of a warp, every lane gets every s_u. Per position the arithmetic is that of U = 1: a
// sequential FMA chain over d = lane, lane + 32, ... from 0, then the butterfly.
template <int T, int U, typename Q>
__device__ __forceinline__ void warp_scores(const head_rows& keys, const int32_t (&pos)[U],
                                            int head_dim, int lane, Q&& qs, float (&s)[U]) {
  token_row<T> rows[U];
#pragma unroll
  for (int u = 0; u < U; ++u) {
    rows[u] = token_row<T>(keys, pos[u]);
    s[u] = 0.0f;
  }
  for (int d = lane; d < head_dim; d += 32) {
    const float q = qs(d);
#pragma unroll
    for (int u = 0; u < U; ++u) s[u] = fmaf(q, rows[u].at(d), s[u]);
  }
#pragma unroll
  for (int u = 0; u < U; ++u) s[u] = warp_sum(s[u]);
}

// grid (num_splits, num_heads): one block per (row, split, query head).
__global__ void __launch_bounds__(kThreads) attend_kernel(launch_args a) {
  __shared__ float qs[kMaxHeadDim];  // scale · q of this head
  __shared__ float e[kTile];         // the tile's scores, then exp(s - m)
  __shared__ int32_t pos_of[kTile];  // the tile's positions
  __shared__ float red_max[kWarps], red_sum[kWarps];
  __shared__ float parts_o[kThreads];

  const int tid = static_cast<int>(threadIdx.x), lane = tid & 31, warp = tid >> 5;
  const int h = static_cast<int>(blockIdx.y);
  const int x = static_cast<int>(blockIdx.x);
  const int32_t ri = a.split_rows[x];
  const row_entry row = a.rows[ri];
  const item_entry& it = a.items[row.item];
  const int hd = a.head_dim;
  const int group = a.num_heads / a.num_kv_heads;
  const int kv_head = h / group;
  const int split = x - row.first_split;
  const int begin = split * row.split_len;
  const int end = min(row.len, begin + row.split_len);

  const int64_t q_at = (int64_t{row.row} * a.num_heads + h) * hd;
  for (int d = tid; d < hd; d += kThreads) qs[d] = it.q[q_at + d] * a.scale;
  const int32_t* positions =
      it.positions ? it.positions + int64_t{kv_head} * it.list_stride : nullptr;
  const head_rows keys = head_of(it.keys, kv_head, hd, it.quantized_len);
  const head_rows values = head_of(it.values, kv_head, hd, it.quantized_len);

  // o ownership: head_dim <= kThreads: thread tid owns channel tid % hd of part tid / hd, parts
  // splitting a tile's entries round-robin (summed in part order at the end); otherwise thread
  // tid owns channels tid, tid + kThreads, ... of the single part.
  const bool narrow = hd <= kThreads;
  const int parts = narrow ? kThreads / hd : 1;
  const int part = narrow ? tid / hd : 0;
  const bool active = part < parts;
  const int d0 = narrow ? tid % hd : tid;
  float acc[kMaxOwned];
#pragma unroll
  for (int k = 0; k < kMaxOwned; ++k) acc[k] = 0.0f;
  float m_run = -INFINITY, l_run = 0.0f;
  __syncthreads();

  for (int t0 = begin; t0 < end; t0 += kTile) {
    const int n = min(kTile, end - t0);
    with_type(keys.type, [&]<int T>() {
      for (int j0 = warp * kScoreUnroll; j0 < n; j0 += kWarps * kScoreUnroll) {  // warp-uniform
        int32_t pos[kScoreUnroll];
#pragma unroll
        for (int u = 0; u < kScoreUnroll; ++u) {
          const int j = min(j0 + u, n - 1);  // past the tile's end: a valid row, result dropped
          pos[u] = positions ? positions[t0 + j] : t0 + j;
        }
        float sc[kScoreUnroll];
        warp_scores<T>(keys, pos, hd, lane, [&](int d) { return qs[d]; }, sc);
        if (lane == 0) {
#pragma unroll
          for (int u = 0; u < kScoreUnroll; ++u)
            if (j0 + u < n) {
              e[j0 + u] = sc[u];
              pos_of[j0 + u] = pos[u];
            }
        }
      }
    });
    __syncthreads();
    const float s = tid < n ? e[tid] : -INFINITY;
    const float wm = warp_max(s);
    if (lane == 0) red_max[warp] = wm;
    __syncthreads();
    float tile_max = red_max[0];
    for (int w = 1; w < kWarps; ++w) tile_max = fmaxf(tile_max, red_max[w]);
    const float m_new = fmaxf(m_run, tile_max);
    const float alpha = expf(m_run - m_new);  // 0 on the first tile (m_run = -inf)
    const float p = tid < n ? expf(s - m_new) : 0.0f;
    if (tid < n) e[tid] = p;
    const float ws = warp_sum(p);
    if (lane == 0) red_sum[warp] = ws;
    __syncthreads();
    float tile_sum = red_sum[0];
    for (int w = 1; w < kWarps; ++w) tile_sum += red_sum[w];
    l_run = fmaf(l_run, alpha, tile_sum);
    m_run = m_new;
    if (active) {
      with_type(values.type, [&]<int T>() {
        if (narrow) {
          float o = acc[0] * alpha;
#pragma unroll 4
          for (int j = part; j < n; j += parts)
            o = fmaf(e[j], token_row<T>(values, pos_of[j]).at(d0), o);
          acc[0] = o;
        } else {
#pragma unroll
          for (int k = 0; k < kMaxOwned; ++k) acc[k] *= alpha;
#pragma unroll 2
          for (int j = 0; j < n; ++j) {
            const float w = e[j];
            const token_row<T> v(values, pos_of[j]);
#pragma unroll
            for (int k = 0; k < kMaxOwned; ++k) {
              const int d = d0 + k * kThreads;
              if (d < hd) acc[k] = fmaf(w, v.at(d), acc[k]);
            }
          }
        }
      });
    }
    __syncthreads();  // e, pos_of and the reductions are rewritten by the next tile
  }

  // This thread's final channels: narrow, d = tid < hd; wide, d = tid + k·kThreads < hd.
  float o[kMaxOwned];
#pragma unroll
  for (int k = 0; k < kMaxOwned; ++k) o[k] = acc[k];
  if (narrow) {
    if (active) parts_o[tid] = acc[0];
    __syncthreads();
    if (tid < hd) {
      float v = parts_o[tid];
      for (int q = 1; q < parts; ++q) v += parts_o[q * hd + tid];
      o[0] = v;
    }
  }
  if (row.num_splits == 1) {
    float* out = it.out + q_at;
#pragma unroll
    for (int k = 0; k < kMaxOwned; ++k) {
      const int d = narrow ? (k == 0 ? tid : hd) : d0 + k * kThreads;
      if (d < hd) out[d] = o[k] / l_run;
    }
    if (tid == 0) {
      float* st = a.stats + (int64_t{ri} * a.num_heads + h) * 2;
      st[0] = m_run;
      st[1] = l_run;
    }
  } else {
    float* partial =
        a.partials + ((int64_t{row.partial} + split) * a.num_heads + h) * (int64_t{hd} + 2);
#pragma unroll
    for (int k = 0; k < kMaxOwned; ++k) {
      const int d = narrow ? (k == 0 ? tid : hd) : d0 + k * kThreads;
      if (d < hd) partial[2 + d] = o[k];
    }
    if (tid == 0) {
      partial[0] = m_run;
      partial[1] = l_run;
    }
  }
}

// grid (num_merge_rows, num_heads): combines a split row's partials in split order,
// M = max_s m_s, w_s = exp(m_s - M), Z = Σ_s w_s l_s, out = (Σ_s w_s o_s) / Z.
__global__ void __launch_bounds__(kThreads) merge_kernel(launch_args a) {
  __shared__ float weight[kMaxSplits];
  const int tid = static_cast<int>(threadIdx.x);
  const int h = static_cast<int>(blockIdx.y);
  const int32_t ri = a.merge_rows[blockIdx.x];
  const row_entry row = a.rows[ri];
  const item_entry& it = a.items[row.item];
  const int hd = a.head_dim;
  const int64_t stride = int64_t{a.num_heads} * (hd + 2);  // from one split's partial to the next
  const float* first = a.partials + (int64_t{row.partial} * a.num_heads + h) * (int64_t{hd} + 2);
  const int ns = row.num_splits;
  float big = first[0];
  for (int s = 1; s < ns; ++s) big = fmaxf(big, first[s * stride]);
  if (tid < ns) weight[tid] = expf(first[tid * stride] - big);
  __syncthreads();
  float z = 0.0f;
  for (int s = 0; s < ns; ++s) z = fmaf(weight[s], first[s * stride + 1], z);
  float* out = it.out + (int64_t{row.row} * a.num_heads + h) * hd;
  for (int d = tid; d < hd; d += kThreads) {
    float o = 0.0f;
    for (int s = 0; s < ns; ++s) o = fmaf(weight[s], first[s * stride + 2 + d], o);
    out[d] = o / z;
  }
  if (tid == 0) {
    float* st = a.stats + (int64_t{ri} * a.num_heads + h) * 2;
    st[0] = big;
    st[1] = z;
  }
}

// grid (num_mass_items · num_kv_heads, column blocks): one warp per (item, kv head, column j).
// For each reported row r (in order): v_r = Σ_g exp(s_gj - M_g) / Z_g over the group's query
// heads g in order (0 beyond the row's causal limit); written per row, or added in row order into
// the single row with sum_rows. Every column of the mass region is written.
__global__ void __launch_bounds__(kThreads) mass_kernel(launch_args a) {
  const int tid = static_cast<int>(threadIdx.x), lane = tid & 31, warp = tid >> 5;
  const int kv_head = static_cast<int>(blockIdx.x % static_cast<unsigned>(a.num_kv_heads));
  const int32_t item = a.mass_items[blockIdx.x / static_cast<unsigned>(a.num_kv_heads)];
  const item_entry& it = a.items[item];
  const int hd = a.head_dim;
  const int group = a.num_heads / a.num_kv_heads;
  const int cols = it.mass_cols;
  const float scale = a.scale;
  const int32_t* positions =
      it.positions ? it.positions + int64_t{kv_head} * it.list_stride : nullptr;
  const head_rows keys = head_of(it.keys, kv_head, hd, it.quantized_len);
  const int first_reported = it.num_rows - it.mass_rows;
  with_type(keys.type, [&]<int T>() {
    for (int j = static_cast<int>(blockIdx.y) * kWarps + warp; j < cols;
         j += static_cast<int>(gridDim.y) * kWarps) {  // warp-uniform
      const int32_t pos[1] = {positions ? positions[j] : j};
      float total = 0.0f;
      for (int r = 0; r < it.mass_rows; ++r) {
        const int i = first_reported + r;
        const int len = positions ? it.list_size : it.past_len + i + 1;
        float v = 0.0f;
        if (j < len) {
          for (int g = 0; g < group; ++g) {
            const int h = kv_head * group + g;
            const float* q = it.q + (int64_t{i} * a.num_heads + h) * hd;
            float s[1];
            warp_scores<T>(keys, pos, hd, lane, [&](int d) { return q[d] * scale; }, s);
            const float* st = a.stats + ((int64_t{it.first_row} + i) * a.num_heads + h) * 2;
            const float p = expf(s[0] - st[0]) / st[1];
            v = g == 0 ? p : v + p;
          }
        }
        if (it.sum_rows) {
          total = r == 0 ? v : total + v;
        } else if (lane == 0) {
          it.mass[(int64_t{r} * a.num_kv_heads + kv_head) * cols + j] = v;
        }
      }
      if (it.sum_rows && lane == 0) it.mass[int64_t{kv_head} * cols + j] = total;
    }
  });
}

}  // namespace

void launch_attention(const launch_args& args, cudaStream_t stream) {
  attend_kernel<<<dim3(static_cast<unsigned>(args.num_splits), static_cast<unsigned>(args.num_heads)),
                  kThreads, 0, stream>>>(args);
  ALISA_CUDA_CHECK_LAUNCH();
  if (args.num_merge_rows > 0) {
    merge_kernel<<<dim3(static_cast<unsigned>(args.num_merge_rows),
                        static_cast<unsigned>(args.num_heads)),
                   kThreads, 0, stream>>>(args);
    ALISA_CUDA_CHECK_LAUNCH();
  }
  if (args.num_mass_items > 0) {
    const int col_blocks = (args.max_mass_cols + kWarps - 1) / kWarps;
    const unsigned y = static_cast<unsigned>(col_blocks < 1 ? 1 : col_blocks > 65535 ? 65535 : col_blocks);
    mass_kernel<<<dim3(static_cast<unsigned>(args.num_mass_items) *
                           static_cast<unsigned>(args.num_kv_heads),
                       y),
                  kThreads, 0, stream>>>(args);
    ALISA_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace alisa::gpu::cuda::attn
