#pragma once
// Single-threaded SIMD kernels of the CPU backend. Each call dispatches at run time (Highway) to
// the best target this machine supports (AVX-512 > AVX2+FMA > portable fallback). Callers split
// work across threads; these functions never allocate and never spawn threads.
// Unless stated otherwise pointers need no particular alignment and counts may be any size.
#include <cstddef>
#include <cstdint>
#include <string>

#include "proto/dtype.hpp"

namespace alisa::gpu::cpu::kernels {

// Output rows per panel of the packed weight layout linear_packed() reads: the weights of rows
// [p*kPanelRows, (p+1)*kPanelRows) are stored as one panel [cols][kPanelRows] (element (r, c) at
// p*kPanelRows*cols + c*kPanelRows + r%kPanelRows); the last panel's missing rows are zero.
inline constexpr int64_t kPanelRows = 16;

// y[m * ldy + r] = Σ_c x[m * cols + c] · W[r][c] (+ bias[r]) for m in [0, n) and the rows r of
// panels [panel_begin, panel_end) that are < rows; w is the packed layout above in `wtype`.
// Every panel is streamed from memory once per pass of up to 36..96 x rows (x stays in L2; one
// 6×16 outer-product register block per x block, k blocked so a sub-panel stays in L1). `widened`:
// nullptr or scratch of kPanelRows*cols floats, used to widen a 16-bit panel once when several
// x blocks reuse it. q8_0 weights use their own packed layout and kernel (q8_kernels.hpp), which
// needs `widened` when n > 6.
void linear_packed(const float* x, int64_t n, const void* w, dtype wtype, int64_t rows,
                   int64_t cols, const float* bias, int64_t panel_begin, int64_t panel_end,
                   float* y, int64_t ldy, float* widened, bool row_exact = false);
// row_exact: every y row is the sequential FMA chain over c, so it is bit-identical whatever n
// and however the rows are blocked (slower for n < 4: no split accumulators).

// dst[i] = float(src[i]) for a 16-bit source (bf16 or f16); for f32 a plain copy; for q8_0,
// row-major GGUF blocks (count a multiple of 32, src at a block start).
void convert_to_f32(const void* src, dtype type, int64_t count, float* dst);

// One row: y = x / sqrt(mean(x²) + eps) · gain (gain nullptr = 1).
void rms_norm_row(const float* x, int64_t dim, const float* gain, float eps, float* y);
// One row: y = (x - mean) / sqrt(var + eps) · gain + bias (nullptr = 1 / 0).
void layer_norm_row(const float* x, int64_t dim, const float* gain, const float* bias, float eps,
                    float* y);

void silu_mul(const float* gate, const float* up, int64_t count, float* y);  // y = silu(g)·u
void relu(float* x, int64_t count);
void add(float* x, const float* y, int64_t count);  // x += y

// Σ p[i] with several independent accumulators: a streaming read for bandwidth measurement.
double sum(const float* p, int64_t count);

// Name of the Highway target the kernels dispatch to on this machine, e.g. "AVX2", "AVX3".
std::string dispatched_target_name();

}  // namespace alisa::gpu::cpu::kernels
