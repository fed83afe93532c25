// SIMD kernels of the CPU backend, compiled once per Highway target and dispatched at run time.
//
// Compiled targets: AVX3 (AVX-512), AVX2 (+FMA/F16C, the practical baseline) and the portable
// fallback (EMU128/SCALAR). SSSE3/SSE4 add little over the fallback for this workload and
// AVX3_DL adds nothing we use, so they are dropped to halve the compile time of this TU.
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_SSE4 | HWY_AVX3_DL)
#endif

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "gpu/cpu/kernels.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"

#include <cmath>
#include <cstring>

#include "gpu/cpu/convert.hpp"
#include "gpu/cpu/kernels.hpp"

HWY_BEFORE_NAMESPACE();
namespace alisa::gpu::cpu::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// Weight-row loads: widen 16-bit storage to fp32 in registers.
HWY_INLINE VF load_w(DF d, const float* p) { return hn::LoadU(d, p); }
HWY_INLINE VF load_w(DF d, const hwy::bfloat16_t* p) {
  const hn::Rebind<hwy::bfloat16_t, DF> dh;
  return hn::PromoteTo(d, hn::LoadU(dh, p));
}
HWY_INLINE VF load_w(DF d, const hwy::float16_t* p) {
  const hn::Rebind<hwy::float16_t, DF> dh;
  return hn::PromoteTo(d, hn::LoadU(dh, p));
}

HWY_INLINE float scalar_w(const float* p) { return *p; }
HWY_INLINE float scalar_w(const hwy::bfloat16_t* p) {
  uint16_t bits;
  std::memcpy(&bits, p, 2);
  return bf16_to_f32(bits);
}
HWY_INLINE float scalar_w(const hwy::float16_t* p) {
  uint16_t bits;
  std::memcpy(&bits, p, 2);
  return f16_to_f32(bits);
}

HWY_INLINE float reduce(DF d, VF v) { return hn::GetLane(hn::SumOfLanes(d, v)); }

// x rows per register block: 4 weight rows × kMR x rows of accumulators + 4 weight vectors must fit
// the register file (16 vectors on AVX2, 32 on AVX-512).
#if HWY_TARGET <= HWY_AVX3
constexpr int kMR = 4;
#else
constexpr int kMR = 2;
#endif
constexpr int kNR = 4;
constexpr bool kPrefetch = true;

// NR weight rows (w + r*cols) × MR x rows (x + m*cols): y[m*ldy + r] = dot + bias.
template <int NR, int MR, typename T>
HWY_INLINE void micro_kernel(const float* HWY_RESTRICT x, const T* HWY_RESTRICT w, int64_t cols,
                             const float* bias, float* y, int64_t ldy) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  VF acc[NR][MR];
  for (int r = 0; r < NR; ++r)
    for (int m = 0; m < MR; ++m) acc[r][m] = hn::Zero(d);
  int64_t c = 0;
  for (; c + N <= cols; c += N) {
    VF wv[NR];
    for (int r = 0; r < NR; ++r) {
      // The next row block is contiguous after this one: prefetch it one block ahead so the
      // DRAM stream stays busy across block boundaries (short 16-bit rows defeat the hardware
      // prefetcher; measured +20-30% bf16 decode throughput on Zen 3). Prefetching past the end of
      // the matrix is harmless: prefetches never fault.
      if constexpr (kPrefetch) hwy::Prefetch(w + (r + NR) * cols + c);
      wv[r] = load_w(d, w + r * cols + c);
    }
    for (int m = 0; m < MR; ++m) {
      const VF xv = hn::LoadU(d, x + m * cols + c);
      for (int r = 0; r < NR; ++r) acc[r][m] = hn::MulAdd(wv[r], xv, acc[r][m]);
    }
  }
  for (int r = 0; r < NR; ++r) {
    for (int m = 0; m < MR; ++m) {
      float s = reduce(d, acc[r][m]);
      for (int64_t t = c; t < cols; ++t) s += x[m * cols + t] * scalar_w(w + r * cols + t);
      y[m * ldy + r] = s + (bias ? bias[r] : 0.0f);
    }
  }
}

// All x rows against NR weight rows: full MR blocks, then one ragged block.
template <int NR, typename T>
HWY_INLINE void row_block(const float* x, int64_t n, const T* w, int64_t cols, const float* bias,
                          float* y, int64_t ldy) {
  int64_t m = 0;
  for (; m + kMR <= n; m += kMR) micro_kernel<NR, kMR>(x + m * cols, w, cols, bias, y + m * ldy, ldy);
  const int64_t left = n - m;
  if constexpr (kMR == 4) {
    if (left == 3) micro_kernel<NR, 3>(x + m * cols, w, cols, bias, y + m * ldy, ldy);
    if (left == 2) micro_kernel<NR, 2>(x + m * cols, w, cols, bias, y + m * ldy, ldy);
  }
  if (left == 1) micro_kernel<NR, 1>(x + m * cols, w, cols, bias, y + m * ldy, ldy);
}

template <typename T>
void linear_typed(const float* x, int64_t n, const T* w, int64_t cols, const float* bias,
                  int64_t row_begin, int64_t row_end, float* y, int64_t ldy) {
  int64_t r = row_begin;
  for (; r + kNR <= row_end; r += kNR)
    row_block<kNR>(x, n, w + r * cols, cols, bias ? bias + r : nullptr, y + r, ldy);
  for (; r < row_end; ++r)
    row_block<1>(x, n, w + r * cols, cols, bias ? bias + r : nullptr, y + r, ldy);
}

void LinearRows(const float* x, int64_t n, const void* w, dtype wtype, int64_t cols,
                const float* bias, int64_t row_begin, int64_t row_end, float* y, int64_t ldy) {
  switch (wtype) {
    case dtype::f32:
      return linear_typed(x, n, static_cast<const float*>(w), cols, bias, row_begin, row_end, y, ldy);
    case dtype::bf16:
      return linear_typed(x, n, static_cast<const hwy::bfloat16_t*>(w), cols, bias, row_begin,
                          row_end, y, ldy);
    case dtype::f16:
      return linear_typed(x, n, static_cast<const hwy::float16_t*>(w), cols, bias, row_begin,
                          row_end, y, ldy);
  }
}

template <typename T>
void convert_typed(const T* src, int64_t count, float* dst) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  for (; i + N <= count; i += N) hn::StoreU(load_w(d, src + i), d, dst + i);
  for (; i < count; ++i) dst[i] = scalar_w(src + i);
}

void ConvertToF32(const void* src, dtype type, int64_t count, float* dst) {
  switch (type) {
    case dtype::f32:
      std::memcpy(dst, src, static_cast<size_t>(count) * sizeof(float));
      return;
    case dtype::bf16:
      return convert_typed(static_cast<const hwy::bfloat16_t*>(src), count, dst);
    case dtype::f16:
      return convert_typed(static_cast<const hwy::float16_t*>(src), count, dst);
  }
}

// Σ a[i]·b[i] with two accumulators to hide FMA latency.
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

HWY_INLINE float sum_row(const float* x, int64_t count) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  VF s = hn::Zero(d);
  int64_t i = 0;
  for (; i + N <= count; i += N) s = hn::Add(s, hn::LoadU(d, x + i));
  float total = reduce(d, s);
  for (; i < count; ++i) total += x[i];
  return total;
}

// y = (x - shift) · scale · gain + bias, gain/bias optional.
HWY_INLINE void scale_row(const float* x, int64_t dim, float shift, float scale, const float* gain,
                          const float* bias, float* y) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const VF vshift = hn::Set(d, shift), vscale = hn::Set(d, scale);
  int64_t i = 0;
  for (; i + N <= dim; i += N) {
    VF v = hn::Mul(hn::Sub(hn::LoadU(d, x + i), vshift), vscale);
    if (gain) v = hn::Mul(v, hn::LoadU(d, gain + i));
    if (bias) v = hn::Add(v, hn::LoadU(d, bias + i));
    hn::StoreU(v, d, y + i);
  }
  for (; i < dim; ++i) {
    float v = (x[i] - shift) * scale;
    if (gain) v *= gain[i];
    if (bias) v += bias[i];
    y[i] = v;
  }
}

void RmsNormRow(const float* x, int64_t dim, const float* gain, float eps, float* y) {
  const float mean_sq = dot(x, x, dim) / static_cast<float>(dim);
  scale_row(x, dim, 0.0f, 1.0f / std::sqrt(mean_sq + eps), gain, nullptr, y);
}

void LayerNormRow(const float* x, int64_t dim, const float* gain, const float* bias, float eps,
                  float* y) {
  // Two passes (mean, then centred squares): the one-pass formula cancels badly.
  const float mean = sum_row(x, dim) / static_cast<float>(dim);
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const VF vmean = hn::Set(d, mean);
  VF acc = hn::Zero(d);
  int64_t i = 0;
  for (; i + N <= dim; i += N) {
    const VF c = hn::Sub(hn::LoadU(d, x + i), vmean);
    acc = hn::MulAdd(c, c, acc);
  }
  float var = reduce(d, acc);
  for (; i < dim; ++i) var += (x[i] - mean) * (x[i] - mean);
  var /= static_cast<float>(dim);
  scale_row(x, dim, mean, 1.0f / std::sqrt(var + eps), gain, bias, y);
}

void SiluMul(const float* gate, const float* up, int64_t count, float* y) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const VF one = hn::Set(d, 1.0f);
  int64_t i = 0;
  for (; i + N <= count; i += N) {
    const VF g = hn::LoadU(d, gate + i);
    const VF sig = hn::Div(one, hn::Add(one, hn::Exp(d, hn::Neg(g))));
    hn::StoreU(hn::Mul(hn::Mul(g, sig), hn::LoadU(d, up + i)), d, y + i);
  }
  for (; i < count; ++i) y[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void Relu(float* x, int64_t count) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  for (; i + N <= count; i += N) hn::StoreU(hn::ZeroIfNegative(hn::LoadU(d, x + i)), d, x + i);
  for (; i < count; ++i) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void Add(float* x, const float* y, int64_t count) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  for (; i + N <= count; i += N)
    hn::StoreU(hn::Add(hn::LoadU(d, x + i), hn::LoadU(d, y + i)), d, x + i);
  for (; i < count; ++i) x[i] += y[i];
}

void AttentionRow(const float* q, const float* keys, const float* values, int64_t stride,
                  int64_t len, int64_t head_dim, float scale, float* scores, float* out) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  float max_score = -INFINITY;
  for (int64_t p = 0; p < len; ++p) {
    scores[p] = dot(q, keys + p * stride, head_dim) * scale;
    max_score = std::max(max_score, scores[p]);
  }
  // Softmax with max subtraction so exp never overflows.
  const VF vmax = hn::Set(d, max_score);
  VF vsum = hn::Zero(d);
  int64_t p = 0;
  for (; p + N <= len; p += N) {
    const VF e = hn::Exp(d, hn::Sub(hn::LoadU(d, scores + p), vmax));
    vsum = hn::Add(vsum, e);
    hn::StoreU(e, d, scores + p);
  }
  float total = reduce(d, vsum);
  for (; p < len; ++p) {
    scores[p] = std::exp(scores[p] - max_score);
    total += scores[p];
  }
  const float inv_total = 1.0f / total;
  std::memset(out, 0, static_cast<size_t>(head_dim) * sizeof(float));
  for (p = 0; p < len; ++p) {
    const float wgt = scores[p] * inv_total;
    const float* v = values + p * stride;
    const VF vw = hn::Set(d, wgt);
    int64_t i = 0;
    for (; i + N <= head_dim; i += N)
      hn::StoreU(hn::MulAdd(vw, hn::LoadU(d, v + i), hn::LoadU(d, out + i)), d, out + i);
    for (; i < head_dim; ++i) out[i] += wgt * v[i];
  }
}

double Sum(const float* p, int64_t count) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  VF s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d), s3 = hn::Zero(d);
  int64_t i = 0;
  for (; i + 4 * N <= count; i += 4 * N) {
    s0 = hn::Add(s0, hn::LoadU(d, p + i));
    s1 = hn::Add(s1, hn::LoadU(d, p + i + N));
    s2 = hn::Add(s2, hn::LoadU(d, p + i + 2 * N));
    s3 = hn::Add(s3, hn::LoadU(d, p + i + 3 * N));
  }
  double total = reduce(d, hn::Add(hn::Add(s0, s1), hn::Add(s2, s3)));
  for (; i < count; ++i) total += p[i];
  return total;
}

int64_t CurrentTarget() { return HWY_TARGET; }

}  // namespace alisa::gpu::cpu::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace alisa::gpu::cpu::kernels {

HWY_EXPORT(LinearRows);
HWY_EXPORT(ConvertToF32);
HWY_EXPORT(RmsNormRow);
HWY_EXPORT(LayerNormRow);
HWY_EXPORT(SiluMul);
HWY_EXPORT(Relu);
HWY_EXPORT(Add);
HWY_EXPORT(AttentionRow);
HWY_EXPORT(Sum);
HWY_EXPORT(CurrentTarget);

void linear_rows(const float* x, int64_t n, const void* w, dtype wtype, int64_t cols,
                 const float* bias, int64_t row_begin, int64_t row_end, float* y, int64_t ldy) {
  HWY_DYNAMIC_DISPATCH(LinearRows)(x, n, w, wtype, cols, bias, row_begin, row_end, y, ldy);
}
void convert_to_f32(const void* src, dtype type, int64_t count, float* dst) {
  HWY_DYNAMIC_DISPATCH(ConvertToF32)(src, type, count, dst);
}
void rms_norm_row(const float* x, int64_t dim, const float* gain, float eps, float* y) {
  HWY_DYNAMIC_DISPATCH(RmsNormRow)(x, dim, gain, eps, y);
}
void layer_norm_row(const float* x, int64_t dim, const float* gain, const float* bias, float eps,
                    float* y) {
  HWY_DYNAMIC_DISPATCH(LayerNormRow)(x, dim, gain, bias, eps, y);
}
void silu_mul(const float* gate, const float* up, int64_t count, float* y) {
  HWY_DYNAMIC_DISPATCH(SiluMul)(gate, up, count, y);
}
void relu(float* x, int64_t count) { HWY_DYNAMIC_DISPATCH(Relu)(x, count); }
void add(float* x, const float* y, int64_t count) { HWY_DYNAMIC_DISPATCH(Add)(x, y, count); }
void attention_row(const float* q, const float* keys, const float* values, int64_t stride,
                   int64_t len, int64_t head_dim, float scale, float* scores, float* out) {
  HWY_DYNAMIC_DISPATCH(AttentionRow)(q, keys, values, stride, len, head_dim, scale, scores, out);
}
double sum(const float* p, int64_t count) { return HWY_DYNAMIC_DISPATCH(Sum)(p, count); }
std::string dispatched_target_name() {
  return hwy::TargetName(HWY_DYNAMIC_DISPATCH(CurrentTarget)());
}

}  // namespace alisa::gpu::cpu::kernels
#endif  // HWY_ONCE
