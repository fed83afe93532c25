// Tiled causal attention kernels (see tiled_attention_kernels.hpp), compiled once per Highway
// target and dispatched at run time. Same target set as kernels.cpp.
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_SSE4 | HWY_AVX3_DL)
#endif

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "gpu/cpu/tiled_attention_kernels.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "gpu/cpu/convert.hpp"
#include "gpu/cpu/tiled_attention_kernels.hpp"

#ifndef ALISA_TILED_ATTENTION_LAYOUT
#define ALISA_TILED_ATTENTION_LAYOUT
namespace alisa::gpu::cpu::tiled::layout {

// The workspace of one task, carved in this order (mq = padded vectors of one tile).
struct buffers {
  float* st;  // [kKeyBlock][mq]   scores, then probabilities, key-major
  float* ot;  // [head_dim][mq]    the output accumulators, channel-major
  float* m;   // [mq]
  float* l;   // [mq]
  float* kb;  // [kKeyBlock][head_dim]  key rows converted to fp32 (non-fp32 storage)
  float* vb;  // [kKeyBlock][head_dim]  value rows likewise
  float* acc; // [kKeyBlock][kVectorPad] mass column sums
  int64_t mq;
};

inline int64_t tile_vectors(int group) { return padded_vectors(int64_t{kTileRows} * group); }

inline size_t floats(int group, int head_dim) {
  const int64_t mq = tile_vectors(group), hd = head_dim;
  return static_cast<size_t>(kKeyBlock * mq + hd * mq + 2 * mq + 2 * kKeyBlock * hd +
                             kKeyBlock * kVectorPad);
}

inline buffers carve(float* ws, int group, int head_dim) {
  buffers b;
  b.mq = tile_vectors(group);
  b.st = ws;
  b.ot = b.st + kKeyBlock * b.mq;
  b.m = b.ot + int64_t{head_dim} * b.mq;
  b.l = b.m + b.mq;
  b.kb = b.l + b.mq;
  b.vb = b.kb + kKeyBlock * head_dim;
  b.acc = b.vb + kKeyBlock * head_dim;
  return b;
}

}  // namespace alisa::gpu::cpu::tiled::layout
#endif  // ALISA_TILED_ATTENTION_LAYOUT

HWY_BEFORE_NAMESPACE();
namespace alisa::gpu::cpu::tiled::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using DI = hn::RebindToSigned<DF>;
using VF = hn::Vec<DF>;
constexpr int64_t kLanes = static_cast<int64_t>(hn::MaxLanes(DF()));
static_assert(kVectorPad % kLanes == 0, "query padding must be a whole number of vectors");
// Register tiles: kKeyRows keys (or kChannels channels) × kQueryVectors query vectors of
// accumulators, 16 with 32 registers (AVX-512), 8 with 16.
constexpr int kQueryVectors = kLanes >= 16 ? 4 : 2;
constexpr int kKeyRows = 4;
constexpr int kChannels = 4;

// --- the block's K/V rows -----------------------------------------------------------------------

// The fp32 row at `position` of one kv head: in place for fp32 (and int8 staging) rows, else
// converted into dst. int8 rows are dequantised as the per-row kernel does (fma(scale, code, min)).
const float* row_f32(const attn::kv_view& kv, int64_t head_dim, int64_t position, float* dst) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const int64_t at = position * kv.kv_dim + kv.offset;
  switch (kv.type) {
    case kv_dtype::f32:
      return static_cast<const float*>(kv.data) + at;
    case kv_dtype::f16: {
      const auto* bits = static_cast<const uint16_t*>(kv.data) + at;
      const hn::Rebind<hwy::float16_t, DF> dh;
      const auto* p = reinterpret_cast<const hwy::float16_t*>(bits);
      int64_t i = 0;
      for (; i + N <= head_dim; i += N) hn::StoreU(hn::PromoteTo(d, hn::LoadU(dh, p + i)), d, dst + i);
      for (; i < head_dim; ++i) dst[i] = f16_to_f32(bits[i]);
      return dst;
    }
    case kv_dtype::bf16: {
      const auto* bits = static_cast<const uint16_t*>(kv.data) + at;
      const hn::Rebind<hwy::bfloat16_t, DF> dh;
      const auto* p = reinterpret_cast<const hwy::bfloat16_t*>(bits);
      int64_t i = 0;
      for (; i + N <= head_dim; i += N) hn::StoreU(hn::PromoteTo(d, hn::LoadU(dh, p + i)), d, dst + i);
      for (; i < head_dim; ++i) dst[i] = bf16_to_f32(bits[i]);
      return dst;
    }
    case kv_dtype::i8: {
      if (position >= kv.quantized_len)
        return kv.staging + (position % kv_chunk_tokens) * kv.kv_dim + kv.offset;
      const auto* codes = static_cast<const uint8_t*>(kv.data) + at;
      const int64_t chunk = position / kv_chunk_tokens;
      const float* mn = kv.minimum + chunk * kv.kv_dim + kv.offset;
      const float* sc = kv.scale + chunk * kv.kv_dim + kv.offset;
      const hn::Rebind<uint8_t, DF> du8;
      int64_t i = 0;
      for (; i + N <= head_dim; i += N) {
        const VF u = hn::ConvertTo(d, hn::PromoteTo(DI(), hn::LoadU(du8, codes + i)));
        hn::StoreU(hn::MulAdd(hn::LoadU(d, sc + i), u, hn::LoadU(d, mn + i)), d, dst + i);
      }
      for (; i < head_dim; ++i) dst[i] = std::fma(sc[i], static_cast<float>(codes[i]), mn[i]);
      return dst;
    }
  }
  return dst;
}

void block_rows(const attn::kv_view& kv, int64_t head_dim, int64_t first, int64_t count,
                float* buffer, const float** rows) {
  for (int64_t j = 0; j < count; ++j) rows[j] = row_f32(kv, head_dim, first + j, buffer + j * head_dim);
}

// --- register tiles --------------------------------------------------------------------------------

// st[j][v..] = Σ_d rows[j][d] · qt[d][v..] for KR keys and QV query vectors from v. Each element
// is one FMA chain over the channels in order, whatever the tile shape.
template <int KR, int QV>
HWY_INLINE void scores_tile(const float* HWY_RESTRICT qt, int64_t q_stride, const float* const* rows,
                            int64_t head_dim, float* HWY_RESTRICT st, int64_t mq) {
  const DF d;
  VF acc[KR][QV];
  for (int k = 0; k < KR; ++k)
    for (int c = 0; c < QV; ++c) acc[k][c] = hn::Zero(d);
  for (int64_t i = 0; i < head_dim; ++i) {
    VF q[QV];
    for (int c = 0; c < QV; ++c) q[c] = hn::LoadU(d, qt + i * q_stride + c * kLanes);
    for (int k = 0; k < KR; ++k) {
      const VF kv = hn::Set(d, rows[k][i]);
      for (int c = 0; c < QV; ++c) acc[k][c] = hn::MulAdd(kv, q[c], acc[k][c]);
    }
  }
  for (int k = 0; k < KR; ++k)
    for (int c = 0; c < QV; ++c) hn::StoreU(acc[k][c], d, st + k * mq + c * kLanes);
}

template <int QV>
HWY_INLINE void scores_columns(const float* qt, int64_t q_stride, const float* const* rows,
                               int64_t keys, int64_t head_dim, float* st, int64_t mq) {
  int64_t j = 0;
  for (; j + kKeyRows <= keys; j += kKeyRows)
    scores_tile<kKeyRows, QV>(qt, q_stride, rows + j, head_dim, st + j * mq, mq);
  for (; j < keys; ++j) scores_tile<1, QV>(qt, q_stride, rows + j, head_dim, st + j * mq, mq);
}

// st[j][0, vectors) for j < keys; vectors is a multiple of kLanes.
void scores(const float* qt, int64_t q_stride, int64_t vectors, const float* const* rows,
            int64_t keys, int64_t head_dim, float* st, int64_t mq) {
  int64_t v = 0;
  for (; v + kQueryVectors * kLanes <= vectors; v += kQueryVectors * kLanes)
    scores_columns<kQueryVectors>(qt + v, q_stride, rows, keys, head_dim, st + v, mq);
  for (; v < vectors; v += kLanes) scores_columns<1>(qt + v, q_stride, rows, keys, head_dim, st + v, mq);
}

// ot[d..][v..] += Σ_{j < keys} rows[j][d..] · st[j][v..] for CH channels and QV query vectors.
template <int CH, int QV>
HWY_INLINE void values_tile(const float* HWY_RESTRICT st, int64_t mq, const float* const* rows,
                            int64_t keys, int64_t d0, float* HWY_RESTRICT ot) {
  const DF d;
  VF acc[CH][QV];
  for (int h = 0; h < CH; ++h)
    for (int c = 0; c < QV; ++c) acc[h][c] = hn::LoadU(d, ot + h * mq + c * kLanes);
  for (int64_t j = 0; j < keys; ++j) {
    VF p[QV];
    for (int c = 0; c < QV; ++c) p[c] = hn::LoadU(d, st + j * mq + c * kLanes);
    for (int h = 0; h < CH; ++h) {
      const VF v = hn::Set(d, rows[j][d0 + h]);
      for (int c = 0; c < QV; ++c) acc[h][c] = hn::MulAdd(v, p[c], acc[h][c]);
    }
  }
  for (int h = 0; h < CH; ++h)
    for (int c = 0; c < QV; ++c) hn::StoreU(acc[h][c], d, ot + h * mq + c * kLanes);
}

template <int QV>
HWY_INLINE void values_columns(const float* st, int64_t mq, const float* const* rows, int64_t keys,
                               int64_t head_dim, float* ot) {
  int64_t h = 0;
  for (; h + kChannels <= head_dim; h += kChannels)
    values_tile<kChannels, QV>(st, mq, rows, keys, h, ot + h * mq);
  for (; h < head_dim; ++h) values_tile<1, QV>(st, mq, rows, keys, h, ot + h * mq);
}

void values(const float* st, int64_t mq, int64_t vectors, const float* const* rows, int64_t keys,
            int64_t head_dim, float* ot) {
  int64_t v = 0;
  for (; v + kQueryVectors * kLanes <= vectors; v += kQueryVectors * kLanes)
    values_columns<kQueryVectors>(st + v, mq, rows, keys, head_dim, ot + v);
  for (; v < vectors; v += kLanes) values_columns<1>(st + v, mq, rows, keys, head_dim, ot + v);
}

// --- softmax ------------------------------------------------------------------------------------

// Lanes of the query vectors at `position` that see key `key`.
HWY_INLINE auto sees(const int32_t* position, int64_t key) {
  const DF d;
  const DI di;
  // position >= key, as position > key - 1 (this Highway has no integer >=).
  return hn::RebindMask(d, hn::Gt(hn::LoadU(di, position), hn::Set(di, static_cast<int32_t>(key - 1))));
}

// One key block's online-softmax update for vectors [0, vectors): st becomes probabilities
// (exactly 0 where a query does not see the key), l and ot are rescaled to the new max.
void softmax_block(float* st, int64_t mq, int64_t vectors, int64_t keys, int64_t first,
                   const int32_t* position, bool masked, float* m, float* l, float* ot,
                   int64_t head_dim) {
  const DF d;
  const VF lowest = hn::Set(d, -std::numeric_limits<float>::infinity());
  const VF one = hn::Set(d, 1.0f);
  for (int64_t v = 0; v < vectors; v += kLanes) {
    VF block_max = lowest;
    for (int64_t j = 0; j < keys; ++j) {
      const VF s = hn::LoadU(d, st + j * mq + v);
      block_max = hn::Max(block_max, masked ? hn::IfThenElse(sees(position + v, first + j), s, lowest) : s);
    }
    const VF m_old = hn::LoadU(d, m + v);
    const VF m_new = hn::Max(m_old, block_max);
    // Exactly 1 when the max did not move (and on a query that sees none of the block).
    const VF alpha = hn::IfThenElse(hn::Eq(m_old, m_new), one, hn::Exp(d, hn::Sub(m_old, m_new)));
    VF sum = hn::Zero(d);
    for (int64_t j = 0; j < keys; ++j) {
      VF p = hn::Exp(d, hn::Sub(hn::LoadU(d, st + j * mq + v), m_new));
      if (masked) p = hn::IfThenElseZero(sees(position + v, first + j), p);
      sum = hn::Add(sum, p);
      hn::StoreU(p, d, st + j * mq + v);
    }
    hn::StoreU(m_new, d, m + v);
    hn::StoreU(hn::MulAdd(hn::LoadU(d, l + v), alpha, sum), d, l + v);
    for (int64_t h = 0; h < head_dim; ++h)
      hn::StoreU(hn::Mul(hn::LoadU(d, ot + h * mq + v), alpha), d, ot + h * mq + v);
  }
}

// --- the tile -----------------------------------------------------------------------------------

void AttendTile(const tile_task& t) {
  const DF d;
  const packed_queries& q = t.queries;
  const int64_t hd = q.head_dim;
  const layout::buffers b = layout::carve(t.workspace, q.group, q.head_dim);
  const int64_t vectors = padded_vectors(t.count);  // a multiple of kLanes
  const float* qt = q.qt + t.first;
  const int32_t* position = q.position + t.first;
  for (int64_t v = 0; v < vectors; v += kLanes) {
    hn::StoreU(hn::Set(d, -std::numeric_limits<float>::infinity()), d, b.m + v);
    hn::StoreU(hn::Zero(d), d, b.l + v);
  }
  for (int64_t h = 0; h < hd; ++h) std::fill(b.ot + h * b.mq, b.ot + h * b.mq + vectors, 0.0f);

  const int64_t lowest_position = position[0];
  const int64_t highest_position = position[t.count - 1];
  const float* krows[kKeyBlock];
  const float* vrows[kKeyBlock];
  for (int64_t first = 0; first <= highest_position; first += kKeyBlock) {
    const int64_t keys = std::min({kKeyBlock, highest_position + 1 - first, t.num_keys - first});
    block_rows(t.keys, hd, first, keys, b.kb, krows);
    block_rows(t.values, hd, first, keys, b.vb, vrows);
    scores(qt, q.stride, vectors, krows, keys, hd, b.st, b.mq);
    softmax_block(b.st, b.mq, vectors, keys, first, position, first + keys - 1 > lowest_position,
                  b.m, b.l, b.ot, hd);
    values(b.st, b.mq, vectors, vrows, keys, hd, b.ot);
  }

  for (int64_t v = 0; v < t.count; ++v) {
    const float inv = 1.0f / b.l[v];
    float* out = t.out + (v / q.group) * t.out_stride + (v % q.group) * hd;
    for (int64_t h = 0; h < hd; ++h) out[h] = b.ot[h * b.mq + v] * inv;
  }
  if (t.m)
    for (int64_t v = 0; v < t.count; ++v) {
      t.m[t.first + v] = b.m[v];
      t.l[t.first + v] = b.l[v];
    }
}

// --- attention mass -------------------------------------------------------------------------------

void MassBlock(const mass_task& t) {
  const DF d;
  const packed_queries& q = t.queries;
  const int64_t hd = q.head_dim, group = q.group;
  const layout::buffers b = layout::carve(t.workspace, q.group, q.head_dim);
  const int64_t first = t.block * kKeyBlock;
  const int64_t keys = std::min(kKeyBlock, t.cols - first);
  const float* krows[kKeyBlock];
  block_rows(t.keys, hd, first, keys, b.kb, krows);
  if (t.sum_rows) std::fill(b.acc, b.acc + kKeyBlock * kVectorPad, 0.0f);

  const int64_t step = int64_t{kTileRows} * group;  // whole rows that fit the tile's buffers
  for (int64_t v0 = 0; v0 < t.count; v0 += step) {
    const int64_t count = std::min(step, t.count - v0);
    const int64_t vectors = padded_vectors(count);
    const int32_t* position = q.position + t.first + v0;
    scores(q.qt + t.first + v0, q.stride, vectors, krows, keys, hd, b.st, b.mq);
    // p = exp(s − m) / l, zero where the query does not see the key and on padding vectors.
    for (int64_t v = 0; v < vectors; v += kLanes) {
      const VF m = hn::LoadU(d, t.m + t.first + v0 + v);
      const VF inv = hn::Div(hn::Set(d, 1.0f), hn::LoadU(d, t.l + t.first + v0 + v));
      const auto real = hn::FirstN(d, static_cast<size_t>(std::max<int64_t>(0, count - v)));
      for (int64_t j = 0; j < keys; ++j) {
        const auto live = hn::And(real, sees(position + v, first + j));
        const VF p = hn::Mul(hn::Exp(d, hn::Sub(hn::LoadU(d, b.st + j * b.mq + v), m)), inv);
        const VF kept = hn::IfThenElseZero(live, p);
        if (t.sum_rows) {
          // Column sums kept per lane (lane = vector index mod kLanes) and reduced at the end, so
          // the order of additions is fixed by the item, not by the threads.
          float* a = b.acc + j * kVectorPad;
          hn::StoreU(hn::Add(hn::LoadU(d, a), kept), d, a);
        } else {
          hn::StoreU(kept, d, b.st + j * b.mq + v);
        }
      }
    }
    if (!t.sum_rows)
      for (int64_t r = 0; r < count / group; ++r) {
        float* dst = t.mass + (v0 / group + r) * t.row_stride + first;
        for (int64_t j = 0; j < keys; ++j) {
          float s = 0.0f;
          for (int64_t g = 0; g < group; ++g) s += b.st[j * b.mq + r * group + g];
          dst[j] = s;
        }
      }
  }
  if (t.sum_rows)
    for (int64_t j = 0; j < keys; ++j) {
      float s = 0.0f;
      for (int64_t i = 0; i < kLanes; ++i) s += b.acc[j * kVectorPad + i];
      t.mass[first + j] = s;
    }
}

}  // namespace alisa::gpu::cpu::tiled::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace alisa::gpu::cpu::tiled {

HWY_EXPORT(AttendTile);
HWY_EXPORT(MassBlock);

size_t workspace_floats(int group, int head_dim) { return layout::floats(group, head_dim); }
void attend_tile(const tile_task& t) { HWY_DYNAMIC_DISPATCH(AttendTile)(t); }
void mass_block(const mass_task& t) { HWY_DYNAMIC_DISPATCH(MassBlock)(t); }

}  // namespace alisa::gpu::cpu::tiled
#endif  // HWY_ONCE
