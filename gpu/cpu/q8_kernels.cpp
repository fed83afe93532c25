// linear_q8_0 (q8_kernels.hpp), compiled once per Highway target and dispatched at run time.
// The packing helpers of the same header live in q8_packing.cpp (plain C++, load time only).
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_SSE4 | HWY_AVX3_DL)
#endif

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "gpu/cpu/q8_kernels.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include <algorithm>
#include <cstdint>

#include "gpu/cpu/kernels.hpp"
#include "gpu/cpu/q8_kernels.hpp"

HWY_BEFORE_NAMESPACE();
namespace alisa::gpu::cpu::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;
constexpr int64_t kPanel = kPanelRows;
constexpr int64_t kBlockCols = 32;

// N int8 codes at p as fp32 lanes.
HWY_INLINE VF load_codes(DF d, const int8_t* p) {
  const hn::Rebind<int8_t, DF> d8;
  const hn::Rebind<int32_t, DF> di;
  return hn::ConvertTo(d, hn::PromoteTo(di, hn::LoadU(d8, p)));
}
HWY_INLINE VF load_scales(DF d, const uint8_t* block) {
  const hn::Rebind<hwy::float16_t, DF> dh;
  return hn::PromoteTo(d, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(block)));
}
HWY_INLINE const int8_t* codes_of(const uint8_t* block) {
  return reinterpret_cast<const int8_t*>(block + 2 * kPanel);
}

// out[m][r] = Σ_c x[m][c] · W[r][c] for the MR x rows and the kPanel rows of one packed panel.
// Per block: the code products are summed in KU independent partial sets (FMA latency), then
// scaled once by the rows' block scales.
template <int MR, int KU>
HWY_INLINE void panel_direct(const float* HWY_RESTRICT x, int64_t ldx, const uint8_t* panel,
                             int64_t cols, float* HWY_RESTRICT out) {
  const DF d;
  constexpr int64_t N = static_cast<int64_t>(hn::MaxLanes(DF()));
  constexpr int NV = static_cast<int>(kPanel / N);
  static_assert(NV * N == kPanel, "panel must be a whole number of vectors");
  VF acc[MR][NV];
  for (int m = 0; m < MR; ++m)
    for (int v = 0; v < NV; ++v) acc[m][v] = hn::Zero(d);
  const int64_t blocks = (cols + kBlockCols - 1) / kBlockCols;
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* block = panel + static_cast<size_t>(b) * kQ8PanelBlockBytes;
    const int8_t* code = codes_of(block);
    const int64_t k0 = b * kBlockCols;
    const int64_t kc = std::min(kBlockCols, cols - k0);  // x has no columns past cols
    VF part[KU][MR][NV];
    for (int u = 0; u < KU; ++u)
      for (int m = 0; m < MR; ++m)
        for (int v = 0; v < NV; ++v) part[u][m][v] = hn::Zero(d);
    int64_t c = 0;
    for (; c + KU <= kc; c += KU)
      for (int u = 0; u < KU; ++u) {
        VF wv[NV];
        for (int v = 0; v < NV; ++v) wv[v] = load_codes(d, code + (c + u) * kPanel + v * N);
        for (int m = 0; m < MR; ++m) {
          const VF xb = hn::Set(d, x[m * ldx + k0 + c + u]);
          for (int v = 0; v < NV; ++v) part[u][m][v] = hn::MulAdd(wv[v], xb, part[u][m][v]);
        }
      }
    for (; c < kc; ++c) {
      VF wv[NV];
      for (int v = 0; v < NV; ++v) wv[v] = load_codes(d, code + c * kPanel + v * N);
      for (int m = 0; m < MR; ++m) {
        const VF xb = hn::Set(d, x[m * ldx + k0 + c]);
        for (int v = 0; v < NV; ++v) part[0][m][v] = hn::MulAdd(wv[v], xb, part[0][m][v]);
      }
    }
    for (int v = 0; v < NV; ++v) {
      const VF scale = load_scales(d, block + 2 * v * N);
      for (int m = 0; m < MR; ++m) {
        VF s = part[0][m][v];
        for (int u = 1; u < KU; ++u) s = hn::Add(s, part[u][m][v]);
        acc[m][v] = hn::MulAdd(scale, s, acc[m][v]);
      }
    }
  }
  for (int m = 0; m < MR; ++m)
    for (int v = 0; v < NV; ++v) hn::StoreU(acc[m][v], d, out + m * kPanel + v * N);
}

void panel_direct_rows(int mr, const float* x, int64_t ldx, const uint8_t* panel, int64_t cols,
                       float* out) {
  switch (mr) {
    case 1: return panel_direct<1, 4>(x, ldx, panel, cols, out);
    case 2: return panel_direct<2, 2>(x, ldx, panel, cols, out);
    case 3: return panel_direct<3, 1>(x, ldx, panel, cols, out);
    case 4: return panel_direct<4, 1>(x, ldx, panel, cols, out);
    case 5: return panel_direct<5, 1>(x, ldx, panel, cols, out);
    default: return panel_direct<6, 1>(x, ldx, panel, cols, out);
  }
}

// Row-exact variant: each weight is first scaled (scale · code, exact in fp32) and every output
// is one sequential FMA chain over the columns: bit for bit what the fp32 kernel computes from
// the widened panel (widen_panel + row_exact linear_packed), so a row comes out the same whether
// it shared the call with 1 row or 500. Needs no partial sums, so 6 rows fit AVX2's registers.
template <int MR>
HWY_INLINE void panel_scaled(const float* HWY_RESTRICT x, int64_t ldx, const uint8_t* panel,
                             int64_t cols, float* HWY_RESTRICT out) {
  const DF d;
  constexpr int64_t N = static_cast<int64_t>(hn::MaxLanes(DF()));
  constexpr int NV = static_cast<int>(kPanel / N);
  VF acc[MR][NV];
  for (int m = 0; m < MR; ++m)
    for (int v = 0; v < NV; ++v) acc[m][v] = hn::Zero(d);
  const int64_t blocks = (cols + kBlockCols - 1) / kBlockCols;
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* block = panel + static_cast<size_t>(b) * kQ8PanelBlockBytes;
    const int8_t* code = codes_of(block);
    const int64_t k0 = b * kBlockCols;
    const int64_t kc = std::min(kBlockCols, cols - k0);
    VF scale[NV];
    for (int v = 0; v < NV; ++v) scale[v] = load_scales(d, block + 2 * v * N);
    for (int64_t c = 0; c < kc; ++c) {
      VF wv[NV];
      for (int v = 0; v < NV; ++v) wv[v] = hn::Mul(scale[v], load_codes(d, code + c * kPanel + v * N));
      for (int m = 0; m < MR; ++m) {
        const VF xb = hn::Set(d, x[m * ldx + k0 + c]);
        for (int v = 0; v < NV; ++v) acc[m][v] = hn::MulAdd(wv[v], xb, acc[m][v]);
      }
    }
  }
  for (int m = 0; m < MR; ++m)
    for (int v = 0; v < NV; ++v) hn::StoreU(acc[m][v], d, out + m * kPanel + v * N);
}

void panel_scaled_rows(int mr, const float* x, int64_t ldx, const uint8_t* panel, int64_t cols,
                       float* out) {
  switch (mr) {
    case 1: return panel_scaled<1>(x, ldx, panel, cols, out);
    case 2: return panel_scaled<2>(x, ldx, panel, cols, out);
    case 3: return panel_scaled<3>(x, ldx, panel, cols, out);
    case 4: return panel_scaled<4>(x, ldx, panel, cols, out);
    case 5: return panel_scaled<5>(x, ldx, panel, cols, out);
    default: return panel_scaled<6>(x, ldx, panel, cols, out);
  }
}

// widened[c][r] = scale[r] · code[c][r] for the panel's first `cols` columns.
void widen_panel(const uint8_t* panel, int64_t cols, float* HWY_RESTRICT widened) {
  const DF d;
  constexpr int64_t N = static_cast<int64_t>(hn::MaxLanes(DF()));
  constexpr int NV = static_cast<int>(kPanel / N);
  const int64_t blocks = (cols + kBlockCols - 1) / kBlockCols;
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* block = panel + static_cast<size_t>(b) * kQ8PanelBlockBytes;
    const int8_t* code = codes_of(block);
    const int64_t k0 = b * kBlockCols;
    const int64_t kc = std::min(kBlockCols, cols - k0);
    VF scale[NV];
    for (int v = 0; v < NV; ++v) scale[v] = load_scales(d, block + 2 * v * N);
    for (int64_t c = 0; c < kc; ++c)
      for (int v = 0; v < NV; ++v)
        hn::StoreU(hn::Mul(scale[v], load_codes(d, code + c * kPanel + v * N)), d,
                   widened + (k0 + c) * kPanel + v * N);
  }
}

void LinearQ8(const float* x, int64_t n, const void* w, int64_t rows, int64_t cols,
              const float* bias, int64_t panel_begin, int64_t panel_end, float* y, int64_t ldy,
              float* widened, bool row_exact) {
  if (n <= 0) return;
  const auto* base = static_cast<const uint8_t*>(w);
  const size_t panel_bytes = q8_panel_bytes(cols);
  const bool direct = n <= 6;  // row_exact: panel_scaled, the widened path's exact twin
  HWY_ALIGN float out[6 * kPanel];
  for (int64_t p = panel_begin; p < panel_end; ++p) {
    const uint8_t* panel = base + static_cast<size_t>(p) * panel_bytes;
    const int64_t r0 = p * kPanel;
    const int64_t valid = std::min<int64_t>(kPanel, rows - r0);
    if (!direct) {
      // Many x rows reuse the panel (or rows must not depend on n): widen once, run fp32.
      widen_panel(panel, cols, widened);
      linear_packed(x, n, widened, dtype::f32, valid, cols, bias ? bias + r0 : nullptr, 0, 1,
                    y + r0, ldy, nullptr, row_exact);
      continue;
    }
    if (row_exact)
      panel_scaled_rows(static_cast<int>(n), x, cols, panel, cols, out);
    else
      panel_direct_rows(static_cast<int>(n), x, cols, panel, cols, out);
    for (int64_t m = 0; m < n; ++m) {
      float* yr = y + m * ldy + r0;
      const float* o = out + m * kPanel;
      for (int64_t r = 0; r < valid; ++r) yr[r] = bias ? o[r] + bias[r0 + r] : o[r];
    }
  }
}

}  // namespace alisa::gpu::cpu::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace alisa::gpu::cpu::kernels {

HWY_EXPORT(LinearQ8);

void linear_q8_0(const float* x, int64_t n, const void* w, int64_t rows, int64_t cols,
                 const float* bias, int64_t panel_begin, int64_t panel_end, float* y, int64_t ldy,
                 float* widened, bool row_exact) {
  HWY_DYNAMIC_DISPATCH(LinearQ8)(x, n, w, rows, cols, bias, panel_begin, panel_end, y, ldy,
                                 widened, row_exact);
}

}  // namespace alisa::gpu::cpu::kernels
#endif  // HWY_ONCE
