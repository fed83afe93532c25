#pragma once
// q8_0 weight kernels of the CPU backend (dtype::q8_0, proto/dtype.hpp), dispatched at run time
// like kernels.hpp. Decode is bound by the weight stream, so reading 1.0625 bytes per weight
// instead of 4 (fp32) or 2 (bf16) is the point; the codes are widened to fp32 in registers and
// every product is accumulated in fp32 (activations are never quantised).
//
// Packed layout (what upload_matrix builds and linear_q8_0 reads): panels of kPanelRows output
// rows as in kernels.hpp; a panel is ceil(cols / 32) blocks, each kQ8PanelBlockBytes:
//   fp16 scale[kPanelRows]            (row r of the panel: scale[r])
//   int8 code[32][kPanelRows]         (column c of the block, row r: code[c][r])
// Element (r, c) = scale[r] · code[c % 32][r % kPanelRows] of block c / 32 of panel r / kPanelRows.
// Columns past `cols` in the last block and rows past `rows` in the last panel are zero.
#include <cstddef>
#include <cstdint>

#include "gpu/cpu/kernels.hpp"

namespace alisa::gpu::cpu::kernels {

inline constexpr size_t kQ8PanelBlockBytes = 2 * kPanelRows + 32 * kPanelRows;  // 544

// Bytes of one packed panel of a matrix with `cols` columns.
constexpr size_t q8_panel_bytes(int64_t cols) {
  return static_cast<size_t>((cols + 31) / 32) * kQ8PanelBlockBytes;
}

// As linear_packed() for a packed q8_0 matrix. Up to 6 x rows (decode) read the codes directly:
// block by block (Σ_c x·code, then · scale), or, row_exact, as the sequential FMA chain of
// x·(scale·code). More rows first widen each panel to fp32 in `widened` (kPanelRows*cols floats,
// required then) and run the fp32 kernel, whose row_exact chain is the same one: a row_exact row
// is bit for bit the same whatever n is.
void linear_q8_0(const float* x, int64_t n, const void* w, int64_t rows, int64_t cols,
                 const float* bias, int64_t panel_begin, int64_t panel_end, float* y, int64_t ldy,
                 float* widened, bool row_exact);

// Packs rows [panel*16, panel*16+16) ∩ [0, rows) of a row-major fp32 matrix into panel `panel`
// of `dst` (the layout above), quantising each 32-column run as GGUF's Q8_0 does:
// d = max|x| / 127, code = round(x / d), d stored as fp16.
void quantise_panel_q8_0(const float* src, int64_t rows, int64_t cols, int64_t panel, void* dst);

// Same, from row-major GGUF Q8_0 blocks (cols % 32 == 0): the scales and codes are moved as they
// are, so the packed matrix holds exactly the file's values.
void repack_panel_q8_0(const void* src_blocks, int64_t rows, int64_t cols, int64_t panel, void* dst);

// dst[i] = value of element i of row-major GGUF Q8_0 blocks, for `blocks` whole blocks.
void dequantise_q8_0(const void* src_blocks, int64_t blocks, float* dst);

// Row `row` of a packed q8_0 matrix as fp32 (embedding lookups).
void gather_row_q8_0(const void* w, int64_t cols, int64_t row, float* out);

}  // namespace alisa::gpu::cpu::kernels
