// Attention kernels (see attention_kernels.hpp), compiled once per Highway target and dispatched
// at run time. Same target set as kernels.cpp.
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_SSE4 | HWY_AVX3_DL)
#endif

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "gpu/cpu/attention_kernels.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "gpu/cpu/attention_kernels.hpp"
#include "gpu/cpu/convert.hpp"

HWY_BEFORE_NAMESPACE();
namespace alisa::gpu::cpu::attn::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;
constexpr size_t kLanes = hn::MaxLanes(DF());

// --- small vector helpers ----------------------------------------------------------------------

HWY_INLINE float reduce(DF d, VF v) { return hn::GetLane(hn::SumOfLanes(d, v)); }

HWY_INLINE float dot(const float* HWY_RESTRICT a, const float* HWY_RESTRICT b, int64_t count) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  VF s0 = hn::Zero(d), s1 = hn::Zero(d);
  int64_t i = 0;
  for (; i + 2 * N <= count; i += 2 * N) {
    s0 = hn::MulAdd(hn::LoadU(d, a + i), hn::LoadU(d, b + i), s0);
    s1 = hn::MulAdd(hn::LoadU(d, a + i + N), hn::LoadU(d, b + i + N), s1);
  }
  for (; i + N <= count; i += N) s0 = hn::MulAdd(hn::LoadU(d, a + i), hn::LoadU(d, b + i), s0);
  float s = reduce(d, hn::Add(s0, s1));
  for (; i < count; ++i) s += a[i] * b[i];
  return s;
}

// --- reading stored rows ------------------------------------------------------------------------
// Rows are read in their stored type and widened in registers (no converted copy): f32 as is,
// f16/bf16 promoted, i8 codes zero-extended and converted (the caller folds in the statistics).

template <typename T>
HWY_INLINE VF load_row(DF d, const T* HWY_RESTRICT p) {
  if constexpr (std::is_same_v<T, float>) {
    return hn::LoadU(d, p);
  } else if constexpr (std::is_same_v<T, uint8_t>) {
    const hn::Rebind<uint8_t, DF> du8;
    const hn::Rebind<int32_t, DF> di;
    return hn::ConvertTo(d, hn::PromoteTo(di, hn::LoadU(du8, p)));
  } else {
    const hn::Rebind<T, DF> dh;
    return hn::PromoteTo(d, hn::LoadU(dh, p));
  }
}

template <typename T>
HWY_INLINE float load_scalar(const T* p) {
  if constexpr (std::is_same_v<T, float>) {
    return *p;
  } else if constexpr (std::is_same_v<T, uint8_t>) {
    return static_cast<float>(*p);
  } else {
    uint16_t bits;
    std::memcpy(&bits, p, 2);
    return std::is_same_v<T, hwy::float16_t> ? f16_to_f32(bits) : bf16_to_f32(bits);
  }
}

// Dot products of GT query heads (q + g·qs) with kLanes rows r[t] over vec_dims (a multiple of
// kLanes) dimensions; out[g] lane t = q_g · r[t]. The rows go in two halves of kLanes/2, each
// half's GT·kLanes/2 accumulators being independent FMA chains and each row vector loaded (and
// widened) once for all GT heads; a transposing pairwise tree (log2(kLanes) levels of
// ConcatEven/ConcatOdd + Add, about 3 ops per accumulator) turns the accumulators into lanes.
template <int GT, typename T>
HWY_INLINE void dot_tile(const float* HWY_RESTRICT q, int64_t qs, const T* const* r,
                         int64_t vec_dims, VF* out) {
  const DF d;
  constexpr int64_t N = static_cast<int64_t>(kLanes);
  if constexpr (N == 1) {
    VF acc[GT];
    for (int g = 0; g < GT; ++g) acc[g] = hn::Zero(d);
    for (int64_t i = 0; i < vec_dims; ++i) {
      const VF rv = load_row(d, r[0] + i);
      for (int g = 0; g < GT; ++g) acc[g] = hn::MulAdd(hn::LoadU(d, q + g * qs + i), rv, acc[g]);
    }
    for (int g = 0; g < GT; ++g) out[g] = acc[g];
  } else {
    constexpr int64_t H = N / 2 > 0 ? N / 2 : 1;  // (N > 1 here; keeps the scalar target valid)
    VF half[2][GT];
    for (int h = 0; h < 2; ++h) {
      VF acc[GT][H];
      for (int g = 0; g < GT; ++g)
        for (int64_t t = 0; t < H; ++t) acc[g][t] = hn::Zero(d);
      for (int64_t i = 0; i < vec_dims; i += N) {
        VF qv[GT];
        for (int g = 0; g < GT; ++g) qv[g] = hn::LoadU(d, q + g * qs + i);
        for (int64_t t = 0; t < H; ++t) {
          const VF rv = load_row(d, r[h * H + t] + i);
          for (int g = 0; g < GT; ++g) acc[g][t] = hn::MulAdd(qv[g], rv, acc[g][t]);
        }
      }
      // The first log2(H) levels of the tree over each head's H accumulators.
      for (int g = 0; g < GT; ++g) {
        for (int64_t count = H; count > 1; count /= 2)
          for (int64_t k = 0; k < count / 2; ++k)
            acc[g][k] = hn::Add(ConcatEven(d, acc[g][2 * k + 1], acc[g][2 * k]),
                                ConcatOdd(d, acc[g][2 * k + 1], acc[g][2 * k]));
        half[h][g] = acc[g][0];
      }
    }
    for (int g = 0; g < GT; ++g)  // last level: the two halves
      out[g] = hn::Add(ConcatEven(d, half[1][g], half[0][g]), ConcatOdd(d, half[1][g], half[0][g]));
  }
}

// out[g·os + j] = q_g · rows[j] for GT heads and j in [0, n): groups of kLanes rows (a short last
// group padded by repeating its last row), then the dimensions past the last full vector.
template <int GT, typename T>
HWY_INLINE void dot_heads(const float* HWY_RESTRICT q, int64_t qs, const void* const* rows,
                          int64_t n, int64_t head_dim, float* HWY_RESTRICT out, int64_t os) {
  const DF d;
  constexpr int64_t N = static_cast<int64_t>(kLanes);
  const int64_t vec_dims = head_dim / N * N;
  const T* r[kLanes];
  VF sums[GT];
  int64_t j0 = 0;
  for (; j0 + N <= n; j0 += N) {
    for (int64_t t = 0; t < N; ++t) r[t] = static_cast<const T*>(rows[j0 + t]);
    dot_tile<GT>(q, qs, r, vec_dims, sums);
    for (int g = 0; g < GT; ++g) hn::StoreU(sums[g], d, out + g * os + j0);
  }
  if (j0 < n) {
    for (int64_t t = 0; t < N; ++t) r[t] = static_cast<const T*>(rows[std::min(j0 + t, n - 1)]);
    dot_tile<GT>(q, qs, r, vec_dims, sums);
    HWY_ALIGN float lanes[kLanes];
    for (int g = 0; g < GT; ++g) {
      hn::Store(sums[g], d, lanes);
      for (int64_t t = 0; t < n - j0; ++t) out[g * os + j0 + t] = lanes[t];
    }
  }
  if (vec_dims == head_dim) return;
  for (int g = 0; g < GT; ++g)
    for (int64_t j = 0; j < n; ++j) {
      const T* row = static_cast<const T*>(rows[j]);
      float s = out[g * os + j];
      for (int64_t i = vec_dims; i < head_dim; ++i) s += q[g * qs + i] * load_scalar(row + i);
      out[g * os + j] = s;
    }
}

// out[g·os + j] = q_g · rows[j] for `heads` heads, in tiles of 3 or 2 heads (1 for a lone head).
template <typename T>
void dot_rows(const float* HWY_RESTRICT q, int64_t qs, int64_t heads, const void* const* rows,
              int64_t n, int64_t head_dim, float* HWY_RESTRICT out, int64_t os) {
  for (int64_t g = 0; g < heads;) {
    const int64_t left = heads - g;
    const int64_t tile = left == 1 ? 1 : left == 2 || left == 4 ? 2 : 3;
    if (tile == 1)
      dot_heads<1, T>(q + g * qs, qs, rows, n, head_dim, out + g * os, os);
    else if (tile == 2)
      dot_heads<2, T>(q + g * qs, qs, rows, n, head_dim, out + g * os, os);
    else
      dot_heads<3, T>(q + g * qs, qs, rows, n, head_dim, out + g * os, os);
    g += tile;
  }
}

// o_g[d0 + i] += Σ_j e_g[j] · rows[j][d0 + i] for GT heads g (e_g = e + g·es, o_g = o + g·os)
// and DV vectors from d0: each row vector is loaded (and widened) once for all GT heads, and the
// GT·DV accumulators (at most 12) are independent chains, enough to keep both FMA pipes busy.
template <int GT, int DV, typename T>
HWY_INLINE void pv_tile(const float* HWY_RESTRICT e, int64_t es, const void* const* rows, int64_t n,
                        int64_t d0, float* HWY_RESTRICT o, int64_t os) {
  const DF d;
  constexpr int64_t N = static_cast<int64_t>(kLanes);
  VF acc[GT][DV];
  for (int g = 0; g < GT; ++g)
    for (int v = 0; v < DV; ++v) acc[g][v] = hn::LoadU(d, o + g * os + d0 + v * N);
  for (int64_t j = 0; j < n; ++j) {
    VF w[GT];
    for (int g = 0; g < GT; ++g) w[g] = hn::Set(d, e[g * es + j]);
    const T* row = static_cast<const T*>(rows[j]) + d0;
    for (int v = 0; v < DV; ++v) {
      const VF r = load_row(d, row + v * N);
      for (int g = 0; g < GT; ++g) acc[g][v] = hn::MulAdd(w[g], r, acc[g][v]);
    }
  }
  for (int g = 0; g < GT; ++g)
    for (int v = 0; v < DV; ++v) hn::StoreU(acc[g][v], d, o + g * os + d0 + v * N);
}

template <int GT, typename T>
HWY_INLINE void pv_heads(const float* HWY_RESTRICT e, int64_t es, const void* const* rows,
                         int64_t n, int64_t head_dim, float* HWY_RESTRICT o, int64_t os) {
  constexpr int64_t N = static_cast<int64_t>(kLanes);
  constexpr int kMaxDv = GT == 1 ? 8 : GT == 2 ? 6 : 4;
  int64_t d0 = 0;
  for (; d0 + kMaxDv * N <= head_dim; d0 += kMaxDv * N) pv_tile<GT, kMaxDv, T>(e, es, rows, n, d0, o, os);
  if (d0 + 4 * N <= head_dim) pv_tile<GT, 4, T>(e, es, rows, n, d0, o, os), d0 += 4 * N;
  if (d0 + 2 * N <= head_dim) pv_tile<GT, 2, T>(e, es, rows, n, d0, o, os), d0 += 2 * N;
  if (d0 + N <= head_dim) pv_tile<GT, 1, T>(e, es, rows, n, d0, o, os), d0 += N;
  for (; d0 < head_dim; ++d0)
    for (int g = 0; g < GT; ++g) {
      float s = o[g * os + d0];
      for (int64_t j = 0; j < n; ++j)
        s += e[g * es + j] * load_scalar(static_cast<const T*>(rows[j]) + d0);
      o[g * os + d0] = s;
    }
}

// o_g[i] += Σ_j e_g[j] · rows[j][i] for `heads` heads and i in [0, head_dim), heads in tiles of
// 3 or 2 (1 only for a single head).
template <typename T>
void pv_rows(const float* HWY_RESTRICT e, int64_t es, int64_t heads, const void* const* rows,
             int64_t n, int64_t head_dim, float* HWY_RESTRICT o, int64_t os) {
  for (int64_t g = 0; g < heads;) {
    const int64_t left = heads - g;
    const int64_t tile = left == 1 ? 1 : left == 2 || left == 4 ? 2 : 3;
    const float* et = e + g * es;
    float* ot = o + g * os;
    if (tile == 1)
      pv_heads<1, T>(et, es, rows, n, head_dim, ot, os);
    else if (tile == 2)
      pv_heads<2, T>(et, es, rows, n, head_dim, ot, os);
    else
      pv_heads<3, T>(et, es, rows, n, head_dim, ot, os);
    g += tile;
  }
}

// --- gathering a block's rows --------------------------------------------------------------------

enum class row_kind : uint8_t { f32, f16, bf16, codes };

// A run of a block's list entries read the same way; `codes` runs lie in quantisation chunk
// `chunk`, whose statistics the caller folds in.
struct segment {
  int64_t begin, end;
  int64_t chunk;
  row_kind kind;
};

template <typename F>
HWY_INLINE void for_kind(row_kind kind, const F& f) {
  switch (kind) {
    case row_kind::f32: return f(float{});
    case row_kind::f16: return f(hwy::float16_t{});
    case row_kind::bf16: return f(hwy::bfloat16_t{});
    case row_kind::codes: return f(uint8_t{});
  }
}

HWY_INLINE int64_t position_of(const int32_t* positions, int64_t j) {
  return positions ? positions[j] : j;
}

// x = min + scale·u for one row of codes (the short-run path), into dst.
HWY_INLINE void dequantize_row(const uint8_t* HWY_RESTRICT codes, int64_t count,
                               const float* HWY_RESTRICT minimum, const float* HWY_RESTRICT scale,
                               float* HWY_RESTRICT dst) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  for (; i + N <= count; i += N)
    hn::StoreU(hn::MulAdd(hn::LoadU(d, scale + i), load_row(d, codes + i), hn::LoadU(d, minimum + i)),
               d, dst + i);
  for (; i < count; ++i) dst[i] = std::fma(scale[i], static_cast<float>(codes[i]), minimum[i]);
}

// Sets rows[j - begin] to the stored row of list entries [begin, begin + count) of one kv head
// (dequantised into buf for short i8 runs); returns the number of segments written to `segs`.
int64_t gather_rows(const kv_view& kv, int64_t head_dim, const int32_t* positions, int64_t begin,
                    int64_t count, float* HWY_RESTRICT buf, const void** rows, segment* segs) {
  int64_t n = 0;
  auto add = [&](int64_t b, int64_t e, row_kind kind, int64_t chunk) {
    if (kind != row_kind::codes && n > 0 && segs[n - 1].kind == kind && segs[n - 1].end == b)
      segs[n - 1].end = e;
    else
      segs[n++] = segment{b, e, chunk, kind};
  };
  if (kv.type != kv_dtype::i8) {
    const size_t elem = kv_dtype_size(kv.type);
    const auto* data = static_cast<const char*>(kv.data) + static_cast<size_t>(kv.offset) * elem;
    for (int64_t j = 0; j < count; ++j)
      rows[j] = data + static_cast<size_t>(position_of(positions, begin + j) * kv.kv_dim) * elem;
    add(0, count,
        kv.type == kv_dtype::f32   ? row_kind::f32
        : kv.type == kv_dtype::f16 ? row_kind::f16
                                   : row_kind::bf16,
        -1);
    return n;
  }
  const auto* codes = static_cast<const uint8_t*>(kv.data) + kv.offset;
  for (int64_t j = 0; j < count;) {
    const int64_t pos = position_of(positions, begin + j);
    if (pos >= kv.quantized_len) {  // the chunk being filled: exact fp32 staging rows
      rows[j] = kv.staging + (pos % kv_chunk_tokens) * kv.kv_dim + kv.offset;
      add(j, j + 1, row_kind::f32, -1);
      ++j;
      continue;
    }
    const int64_t chunk = pos / kv_chunk_tokens;
    int64_t end = j + 1;
    while (end < count) {
      const int64_t p = position_of(positions, begin + end);
      if (p >= kv.quantized_len || p / kv_chunk_tokens != chunk) break;
      ++end;
    }
    if (end - j >= kMinAffineRun) {
      for (int64_t i = j; i < end; ++i) rows[i] = codes + position_of(positions, begin + i) * kv.kv_dim;
      add(j, end, row_kind::codes, chunk);
    } else {
      const float* minimum = kv.minimum + chunk * kv.kv_dim + kv.offset;
      const float* scale = kv.scale + chunk * kv.kv_dim + kv.offset;
      for (int64_t i = j; i < end; ++i) {
        float* dst = buf + i * head_dim;
        dequantize_row(codes + position_of(positions, begin + i) * kv.kv_dim, head_dim, minimum,
                       scale, dst);
        rows[i] = dst;
      }
      add(j, end, row_kind::f32, -1);
    }
    j = end;
  }
  return n;
}

// --- block and merge ---------------------------------------------------------------------------

HWY_INLINE float max_of(const float* HWY_RESTRICT x, int64_t n) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  float m = x[0];
  int64_t j = 0;
  if (n >= N) {
    VF vm = hn::LoadU(d, x);
    for (j = N; j + N <= n; j += N) vm = hn::Max(vm, hn::LoadU(d, x + j));
    m = hn::GetLane(hn::MaxOfLanes(d, vm));
  }
  for (; j < n; ++j) m = std::max(m, x[j]);
  return m;
}

// e = exp(s - max s) in place; returns Σ e.
HWY_INLINE float exp_in_place(float* HWY_RESTRICT s, int64_t n, float m) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const VF vm = hn::Set(d, m);
  VF vsum = hn::Zero(d);
  int64_t j = 0;
  for (; j + N <= n; j += N) {
    const VF ev = hn::Exp(d, hn::Sub(hn::LoadU(d, s + j), vm));
    vsum = hn::Add(vsum, ev);
    hn::StoreU(ev, d, s + j);
  }
  float l = reduce(d, vsum);
  for (; j < n; ++j) {
    s[j] = std::exp(s[j] - m);
    l += s[j];
  }
  return l;
}

// Three phases over the block: the scores of every head (each K row vector read once for a tile
// of heads), the softmax partials, then Σ e v of every head (each V row vector read once per tile).
void AttendBlock(const block_task& t) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const int64_t hd = t.head_dim, count = t.count, group = t.group;
  float* kbuf = t.workspace;
  float* vbuf = kbuf + kBlockTokens * hd;
  float* qs = vbuf + kBlockTokens * hd;  // [group][hd]: q · scale
  float* qe = qs + group * hd;     // [group][hd]: (scale·q) ⊙ scale_c
  float* tmp = qe + group * hd;    // [group][hd]
  float* offsets = tmp + group * hd;  // [group]
  float* e_local = offsets + group;
  float* e_base = t.e ? t.e : e_local;
  const int64_t e_stride = t.e ? t.e_stride : kBlockTokens;

  const void* krows[kBlockTokens];
  const void* vrows[kBlockTokens];
  segment kseg[kBlockTokens], vseg[kBlockTokens];
  const int64_t nk = gather_rows(t.keys, hd, t.positions, t.begin, count, kbuf, krows, kseg);
  const int64_t nv = gather_rows(t.values, hd, t.positions, t.begin, count, vbuf, vrows, vseg);

  // Scores s = (scale·q)·k; i8 runs: ((scale·q) ⊙ scale_c)·u + (scale·q)·min_c.
  const VF vscale = hn::Set(d, t.scale);
  for (int64_t i = 0; i < group * hd; i += N) {
    if (i + N <= group * hd) {
      hn::StoreU(hn::Mul(hn::LoadU(d, t.q + i), vscale), d, qs + i);
    } else {
      for (int64_t k = i; k < group * hd; ++k) qs[k] = t.q[k] * t.scale;
    }
  }
  for (int64_t k = 0; k < nk; ++k) {
    const segment& seg = kseg[k];
    const int64_t len = seg.end - seg.begin;
    float* s = e_base + seg.begin;
    if (seg.kind != row_kind::codes) {
      for_kind(seg.kind, [&](auto type) {
        dot_rows<decltype(type)>(qs, hd, group, krows + seg.begin, len, hd, s, e_stride);
      });
      continue;
    }
    const float* mn = t.keys.minimum + seg.chunk * t.keys.kv_dim + t.keys.offset;
    const float* sc = t.keys.scale + seg.chunk * t.keys.kv_dim + t.keys.offset;
    for (int64_t g = 0; g < group; ++g) {
      const float* q = qs + g * hd;
      int64_t i = 0;
      for (; i + N <= hd; i += N)
        hn::StoreU(hn::Mul(hn::LoadU(d, q + i), hn::LoadU(d, sc + i)), d, qe + g * hd + i);
      for (; i < hd; ++i) qe[g * hd + i] = q[i] * sc[i];
      offsets[g] = dot(q, mn, hd);
    }
    dot_rows<uint8_t>(qe, hd, group, krows + seg.begin, len, hd, s, e_stride);
    for (int64_t g = 0; g < group; ++g)
      for (int64_t j = 0; j < len; ++j) s[g * e_stride + j] += offsets[g];
  }
  // Block softmax partials: m, l per head; s becomes e.
  for (int64_t g = 0; g < group; ++g) {
    float* s = e_base + g * e_stride;
    float* part = t.partial + g * (2 + hd);
    part[0] = max_of(s, count);
    part[1] = exp_in_place(s, count, part[0]);
  }
  // o = Σ e v for every head at once; i8 runs: scale_c ⊙ Σ e u + min_c · Σ e.
  const int64_t os = 2 + hd;
  float* o = t.partial + 2;
  for (int64_t g = 0; g < group; ++g) std::memset(o + g * os, 0, static_cast<size_t>(hd) * sizeof(float));
  for (int64_t k = 0; k < nv; ++k) {
    const segment& seg = vseg[k];
    const int64_t len = seg.end - seg.begin;
    if (seg.kind != row_kind::codes) {
      for_kind(seg.kind, [&](auto type) {
        pv_rows<decltype(type)>(e_base + seg.begin, e_stride, group, vrows + seg.begin, len, hd, o,
                                os);
      });
      continue;
    }
    std::memset(tmp, 0, static_cast<size_t>(group * hd) * sizeof(float));
    pv_rows<uint8_t>(e_base + seg.begin, e_stride, group, vrows + seg.begin, len, hd, tmp, hd);
    const float* mn = t.values.minimum + seg.chunk * t.values.kv_dim + t.values.offset;
    const float* sc = t.values.scale + seg.chunk * t.values.kv_dim + t.values.offset;
    for (int64_t g = 0; g < group; ++g) {
      const float* e = e_base + g * e_stride;
      const float* tg = tmp + g * hd;
      float* og = o + g * os;
      float esum = 0.0f;
      for (int64_t i = seg.begin; i < seg.end; ++i) esum += e[i];
      const VF ve = hn::Set(d, esum);
      int64_t i = 0;
      for (; i + N <= hd; i += N) {
        const VF add = hn::MulAdd(hn::LoadU(d, sc + i), hn::LoadU(d, tg + i),
                                  hn::Mul(hn::LoadU(d, mn + i), ve));
        hn::StoreU(hn::Add(hn::LoadU(d, og + i), add), d, og + i);
      }
      for (; i < hd; ++i) og[i] += std::fma(sc[i], tg[i], mn[i] * esum);
    }
  }
}

void MergeBlocks(const merge_task& t) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const int64_t hd = t.head_dim, stride = 2 + hd, block_stride = t.group * stride;
  float* factor = t.workspace;  // [block][group]: w_b / Z
  for (int g = 0; g < t.group; ++g) {
    const float* first = t.partials + g * stride;
    float big = first[0];
    for (int64_t b = 1; b < t.num_blocks; ++b) big = std::max(big, first[b * block_stride]);
    float* out = t.out + g * hd;
    std::memset(out, 0, static_cast<size_t>(hd) * sizeof(float));
    float z = 0.0f;
    for (int64_t b = 0; b < t.num_blocks; ++b) {
      const float* part = first + b * block_stride;
      const float w = std::exp(part[0] - big);
      factor[b * t.group + g] = w;
      z += w * part[1];
      const VF vw = hn::Set(d, w);
      int64_t i = 0;
      for (; i + N <= hd; i += N)
        hn::StoreU(hn::MulAdd(vw, hn::LoadU(d, part + 2 + i), hn::LoadU(d, out + i)), d, out + i);
      for (; i < hd; ++i) out[i] += w * part[2 + i];
    }
    const float inv = 1.0f / z;
    const VF vinv = hn::Set(d, inv);
    int64_t i = 0;
    for (; i + N <= hd; i += N) hn::StoreU(hn::Mul(hn::LoadU(d, out + i), vinv), d, out + i);
    for (; i < hd; ++i) out[i] *= inv;
    for (int64_t b = 0; b < t.num_blocks; ++b) factor[b * t.group + g] *= inv;
  }
  if (!t.mass) return;
  for (int64_t b = 0; b < t.num_blocks; ++b) {
    const int64_t j0 = b * kBlockTokens, j1 = std::min(t.len, j0 + kBlockTokens);
    float* m = t.mass + j0;
    const float* f = factor + b * t.group;
    for (int g = 0; g < t.group; ++g) {
      const float* e = t.e + g * t.e_stride + j0;
      const VF vf = hn::Set(d, f[g]);
      int64_t j = 0;
      if (g == 0) {
        for (; j + N <= j1 - j0; j += N) hn::StoreU(hn::Mul(hn::LoadU(d, e + j), vf), d, m + j);
        for (; j < j1 - j0; ++j) m[j] = e[j] * f[g];
      } else {
        for (; j + N <= j1 - j0; j += N)
          hn::StoreU(hn::MulAdd(hn::LoadU(d, e + j), vf, hn::LoadU(d, m + j)), d, m + j);
        for (; j < j1 - j0; ++j) m[j] += e[j] * f[g];
      }
    }
  }
  if (t.mass_cols > t.len)
    std::memset(t.mass + t.len, 0, static_cast<size_t>(t.mass_cols - t.len) * sizeof(float));
}

}  // namespace alisa::gpu::cpu::attn::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace alisa::gpu::cpu::attn {

HWY_EXPORT(AttendBlock);
HWY_EXPORT(MergeBlocks);

size_t block_workspace_floats(int group, int head_dim) {
  // kbuf, vbuf [kBlockTokens][head_dim]; qs, qe, tmp [group][head_dim]; offsets [group];
  // local e [group][kBlockTokens].
  return static_cast<size_t>(2 * kBlockTokens * head_dim + 3 * int64_t{group} * head_dim +
                             group + int64_t{group} * kBlockTokens);
}

void attend_block(const block_task& t) { HWY_DYNAMIC_DISPATCH(AttendBlock)(t); }
void merge_blocks(const merge_task& t) { HWY_DYNAMIC_DISPATCH(MergeBlocks)(t); }

}  // namespace alisa::gpu::cpu::attn
#endif  // HWY_ONCE
