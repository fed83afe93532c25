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
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "gpu/cpu/convert.hpp"
#include "gpu/cpu/kernels.hpp"
#include "gpu/cpu/q8_kernels.hpp"

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

template <typename T>
void convert_typed(const T* src, int64_t count, float* dst);
HWY_INLINE void ConvertToF32Impl(const float* src, int64_t count, float* dst) {
  std::memcpy(dst, src, static_cast<size_t>(count) * sizeof(float));
}
template <typename T>
HWY_INLINE void ConvertToF32Impl(const T* src, int64_t count, float* dst) {
  convert_typed(src, count, dst);
}

HWY_INLINE float reduce(DF d, VF v) { return hn::GetLane(hn::SumOfLanes(d, v)); }

// --- panel-packed linear ----------------------------------------------------------------------
// Layout (see kernels.hpp): panels of kPanelRows output rows, each panel [cols][kPanelRows].
// One outer-product micro-kernel serves every n: per k it loads the panel's kPanelRows weights
// (NV vectors, widened to fp32), broadcasts x[m][k] for MR x rows and accumulates MR×NV vectors.
// KU independent accumulator sets along k hide the FMA latency when MR is small (n = 1 decode is
// a single contiguous stream of the panel, bandwidth-bound).
constexpr int64_t kPanel = kPanelRows;

template <int MR, int KU, typename T>
HWY_INLINE void panel_block(const float* HWY_RESTRICT x, int64_t ldx, const T* HWY_RESTRICT w,
                            int64_t kc, float* HWY_RESTRICT out, bool accumulate) {
  const DF d;
  constexpr int64_t N = static_cast<int64_t>(hn::MaxLanes(DF()));
  constexpr int NV = static_cast<int>(kPanel / N);
  static_assert(NV * N == kPanel, "panel must be a whole number of vectors");
  VF acc[KU][MR][NV];
  for (int u = 0; u < KU; ++u)
    for (int m = 0; m < MR; ++m)
      for (int v = 0; v < NV; ++v)
        acc[u][m][v] = u == 0 && accumulate ? hn::LoadU(d, out + m * kPanel + v * N) : hn::Zero(d);
  int64_t c = 0;
  for (; c + KU <= kc; c += KU) {
    for (int u = 0; u < KU; ++u) {
      const T* wc = w + (c + u) * kPanel;
      VF wv[NV];
      for (int v = 0; v < NV; ++v) wv[v] = load_w(d, wc + v * N);
      for (int m = 0; m < MR; ++m) {
        const VF xb = hn::Set(d, x[m * ldx + c + u]);
        for (int v = 0; v < NV; ++v) acc[u][m][v] = hn::MulAdd(wv[v], xb, acc[u][m][v]);
      }
    }
  }
  for (; c < kc; ++c) {
    const T* wc = w + c * kPanel;
    VF wv[NV];
    for (int v = 0; v < NV; ++v) wv[v] = load_w(d, wc + v * N);
    for (int m = 0; m < MR; ++m) {
      const VF xb = hn::Set(d, x[m * ldx + c]);
      for (int v = 0; v < NV; ++v) acc[0][m][v] = hn::MulAdd(wv[v], xb, acc[0][m][v]);
    }
  }
  for (int m = 0; m < MR; ++m)
    for (int v = 0; v < NV; ++v) {
      VF s = acc[0][m][v];
      for (int u = 1; u < KU; ++u) s = hn::Add(s, acc[u][m][v]);
      hn::StoreU(s, d, out + m * kPanel + v * N);
    }
}

// kRowExact: one accumulator set for every block height, so each output is the plain sequential
// FMA chain over k and a row's result does not depend on how many rows shared the call (K/V
// recomputation must reproduce the prefill's rows bit for bit). Otherwise short blocks split k
// over KU accumulator sets to hide the FMA latency.
template <bool kRowExact, typename T>
HWY_INLINE void panel_rows(int mr, const float* x, int64_t ldx, const T* w, int64_t kc,
                           float* out, bool accumulate) {
  if constexpr (kRowExact) {
    switch (mr) {
      case 1: return panel_block<1, 1>(x, ldx, w, kc, out, accumulate);
      case 2: return panel_block<2, 1>(x, ldx, w, kc, out, accumulate);
      case 3: return panel_block<3, 1>(x, ldx, w, kc, out, accumulate);
      case 4: return panel_block<4, 1>(x, ldx, w, kc, out, accumulate);
      case 5: return panel_block<5, 1>(x, ldx, w, kc, out, accumulate);
      default: return panel_block<6, 1>(x, ldx, w, kc, out, accumulate);
    }
  }
  switch (mr) {
    case 1: return panel_block<1, 4>(x, ldx, w, kc, out, accumulate);
    case 2: return panel_block<2, 2>(x, ldx, w, kc, out, accumulate);
    case 3: return panel_block<3, 2>(x, ldx, w, kc, out, accumulate);
    case 4: return panel_block<4, 1>(x, ldx, w, kc, out, accumulate);
    case 5: return panel_block<5, 1>(x, ldx, w, kc, out, accumulate);
    default: return panel_block<6, 1>(x, ldx, w, kc, out, accumulate);
  }
}

// x-row blocks of at most 6 (2×6 accumulators on AVX2); a short remainder is merged with the last
// full block and split evenly (8 -> 4+4) so no block runs with too few accumulators.
HWY_INLINE int next_block(int64_t left) {
  if (left <= 6) return static_cast<int>(left);
  if (left >= 10 || left % 6 == 0) return 6;
  return static_cast<int>((left + 1) / 2);  // 7..9 -> 4,4,5
}

// x rows per pass over the panels (at most; the pass's partial sums live on the stack).
constexpr int64_t kMaxChunk = 96;
// k steps per sub-panel when several x blocks share a panel: a 256×16 fp32 sub-panel (16 KiB)
// stays in L1 while every x block of the pass runs over it, instead of re-streaming the whole
// panel from L2 per block.
constexpr int64_t kKc = 256;

template <bool kRowExact, typename T>
void packed_typed(const float* x, int64_t n, const T* w, int64_t rows, int64_t cols,
                  const float* bias, int64_t panel_begin, int64_t panel_end, float* y, int64_t ldy,
                  float* widened) {
  HWY_ALIGN float out[kMaxChunk * kPanel];
  // x rows per pass: the pass's x (re-read for every panel) stays in L2.
  const int64_t chunk = std::clamp<int64_t>(
      (int64_t{256} << 10) / (cols * static_cast<int64_t>(sizeof(float))), 36, kMaxChunk);
  for (int64_t m0 = 0; m0 < n; m0 += chunk) {
    const int64_t m_end = std::min(n, m0 + chunk);
    const bool one_block = m_end - m0 <= 6;
    const int64_t kc_step = one_block ? cols : kKc;
    // Several x blocks reuse the panel: widen 16-bit weights once into fp32 scratch.
    const bool widen = !std::is_same_v<T, float> && widened && !one_block;
    for (int64_t p = panel_begin; p < panel_end; ++p) {
      const T* panel = w + p * kPanel * cols;
      if (widen) ConvertToF32Impl(panel, kPanel * cols, widened);
      for (int64_t k0 = 0; k0 < cols; k0 += kc_step) {
        const int64_t kc = std::min(kc_step, cols - k0);
        for (int64_t m = m0; m < m_end;) {
          const int mr = next_block(m_end - m);
          float* o = out + (m - m0) * kPanel;
          if (widen)
            panel_rows<kRowExact, float>(mr, x + m * cols + k0, cols, widened + k0 * kPanel, kc, o, k0 > 0);
          else
            panel_rows<kRowExact, T>(mr, x + m * cols + k0, cols, panel + k0 * kPanel, kc, o, k0 > 0);
          m += mr;
        }
      }
      const int64_t r0 = p * kPanel;
      const int64_t valid = std::min<int64_t>(kPanel, rows - r0);
      for (int64_t m = m0; m < m_end; ++m) {
        float* yr = y + m * ldy + r0;
        const float* o = out + (m - m0) * kPanel;
        if (bias)
          for (int64_t r = 0; r < valid; ++r) yr[r] = o[r] + bias[r0 + r];
        else
          for (int64_t r = 0; r < valid; ++r) yr[r] = o[r];
      }
    }
  }
}

template <bool kRowExact>
void linear_typed(const float* x, int64_t n, const void* w, dtype wtype, int64_t rows,
                  int64_t cols, const float* bias, int64_t panel_begin, int64_t panel_end,
                  float* y, int64_t ldy, float* widened) {
  switch (wtype) {
    case dtype::f32:
      return packed_typed<kRowExact>(x, n, static_cast<const float*>(w), rows, cols, bias,
                                     panel_begin, panel_end, y, ldy, widened);
    case dtype::bf16:
      return packed_typed<kRowExact>(x, n, static_cast<const hwy::bfloat16_t*>(w), rows, cols,
                                     bias, panel_begin, panel_end, y, ldy, widened);
    case dtype::f16:
      return packed_typed<kRowExact>(x, n, static_cast<const hwy::float16_t*>(w), rows, cols,
                                     bias, panel_begin, panel_end, y, ldy, widened);
    case dtype::q8_0:  // its own layout: linear_packed() hands it to linear_q8_0
      return;
  }
}

void LinearPacked(const float* x, int64_t n, const void* w, dtype wtype, int64_t rows,
                  int64_t cols, const float* bias, int64_t panel_begin, int64_t panel_end,
                  float* y, int64_t ldy, float* widened, bool row_exact) {
  if (row_exact)
    linear_typed<true>(x, n, w, wtype, rows, cols, bias, panel_begin, panel_end, y, ldy, widened);
  else
    linear_typed<false>(x, n, w, wtype, rows, cols, bias, panel_begin, panel_end, y, ldy, widened);
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
    case dtype::q8_0:
      return dequantise_q8_0(src, count / kQ8Block, dst);
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

HWY_EXPORT(LinearPacked);
HWY_EXPORT(ConvertToF32);
HWY_EXPORT(RmsNormRow);
HWY_EXPORT(LayerNormRow);
HWY_EXPORT(SiluMul);
HWY_EXPORT(Relu);
HWY_EXPORT(Add);
HWY_EXPORT(Sum);
HWY_EXPORT(CurrentTarget);

void linear_packed(const float* x, int64_t n, const void* w, dtype wtype, int64_t rows,
                   int64_t cols, const float* bias, int64_t panel_begin, int64_t panel_end,
                   float* y, int64_t ldy, float* widened, bool row_exact) {
  if (wtype == dtype::q8_0)
    return linear_q8_0(x, n, w, rows, cols, bias, panel_begin, panel_end, y, ldy, widened, row_exact);
  HWY_DYNAMIC_DISPATCH(LinearPacked)(x, n, w, wtype, rows, cols, bias, panel_begin, panel_end, y,
                                     ldy, widened, row_exact);
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
double sum(const float* p, int64_t count) { return HWY_DYNAMIC_DISPATCH(Sum)(p, count); }
std::string dispatched_target_name() {
  return hwy::TargetName(HWY_DYNAMIC_DISPATCH(CurrentTarget)());
}

}  // namespace alisa::gpu::cpu::kernels
#endif  // HWY_ONCE
