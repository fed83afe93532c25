// Packing of q8_0 weights into the panel layout of q8_kernels.hpp, and reading them back. Runs at
// load time (and per embedding row), so plain C++: clarity over speed.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "gpu/cpu/convert.hpp"
#include "gpu/cpu/q8_kernels.hpp"

namespace alisa::gpu::cpu::kernels {
namespace {

constexpr int64_t kBlockCols = 32;

size_t block_offset(int64_t cols, int64_t panel, int64_t block) {
  return static_cast<size_t>(panel) * q8_panel_bytes(cols) + static_cast<size_t>(block) * kQ8PanelBlockBytes;
}
uint8_t* block_at(void* dst, int64_t cols, int64_t panel, int64_t block) {
  return static_cast<uint8_t*>(dst) + block_offset(cols, panel, block);
}
const uint8_t* block_at(const void* src, int64_t cols, int64_t panel, int64_t block) {
  return static_cast<const uint8_t*>(src) + block_offset(cols, panel, block);
}

void set_scale(uint8_t* block, int64_t r, uint16_t bits) { std::memcpy(block + 2 * r, &bits, 2); }
int8_t* codes(uint8_t* block) { return reinterpret_cast<int8_t*>(block + 2 * kPanelRows); }
const int8_t* codes(const uint8_t* block) { return reinterpret_cast<const int8_t*>(block + 2 * kPanelRows); }

}  // namespace

void quantise_panel_q8_0(const float* src, int64_t rows, int64_t cols, int64_t panel, void* dst) {
  const int64_t blocks = (cols + kBlockCols - 1) / kBlockCols;
  const int64_t r0 = panel * kPanelRows;
  const int64_t valid = std::min(kPanelRows, rows - r0);
  for (int64_t b = 0; b < blocks; ++b) {
    uint8_t* block = block_at(dst, cols, panel, b);
    const int64_t k0 = b * kBlockCols;
    const int64_t kc = std::min(kBlockCols, cols - k0);
    for (int64_t r = 0; r < valid; ++r) {
      const float* x = src + (r0 + r) * cols + k0;
      float amax = 0.0f;
      for (int64_t c = 0; c < kc; ++c) amax = std::max(amax, std::fabs(x[c]));
      const float d = amax / 127.0f;
      const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
      set_scale(block, r, f32_to_f16(d));
      for (int64_t c = 0; c < kc; ++c)
        codes(block)[c * kPanelRows + r] = static_cast<int8_t>(std::lround(x[c] * inverse));
    }
  }
}

void repack_panel_q8_0(const void* src_blocks, int64_t rows, int64_t cols, int64_t panel, void* dst) {
  const int64_t blocks = cols / kBlockCols;  // GGUF rows are whole blocks
  const auto* src = static_cast<const uint8_t*>(src_blocks);
  const int64_t r0 = panel * kPanelRows;
  const int64_t valid = std::min(kPanelRows, rows - r0);
  for (int64_t b = 0; b < blocks; ++b) {
    uint8_t* block = block_at(dst, cols, panel, b);
    for (int64_t r = 0; r < valid; ++r) {
      const uint8_t* in = src + static_cast<size_t>((r0 + r) * blocks + b) * kQ8BlockBytes;
      uint16_t d;
      std::memcpy(&d, in, 2);
      set_scale(block, r, d);
      for (int64_t c = 0; c < kBlockCols; ++c)
        codes(block)[c * kPanelRows + r] = static_cast<int8_t>(in[2 + c]);
    }
  }
}

void dequantise_q8_0(const void* src_blocks, int64_t blocks, float* dst) {
  const auto* src = static_cast<const uint8_t*>(src_blocks);
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* in = src + static_cast<size_t>(b) * kQ8BlockBytes;
    uint16_t bits;
    std::memcpy(&bits, in, 2);
    const float d = f16_to_f32(bits);
    for (int64_t c = 0; c < kBlockCols; ++c)
      dst[b * kBlockCols + c] = d * static_cast<float>(static_cast<int8_t>(in[2 + c]));
  }
}

void gather_row_q8_0(const void* w, int64_t cols, int64_t row, float* out) {
  const int64_t panel = row / kPanelRows, r = row % kPanelRows;
  const int64_t blocks = (cols + kBlockCols - 1) / kBlockCols;
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* block = block_at(w, cols, panel, b);
    uint16_t bits;
    std::memcpy(&bits, block + 2 * r, 2);
    const float d = f16_to_f32(bits);
    const int64_t k0 = b * kBlockCols;
    const int64_t kc = std::min(kBlockCols, cols - k0);
    for (int64_t c = 0; c < kc; ++c)
      out[k0 + c] = d * static_cast<float>(codes(block)[c * kPanelRows + r]);
  }
}

}  // namespace alisa::gpu::cpu::kernels
