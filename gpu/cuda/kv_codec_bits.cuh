#pragma once
// kv_codec_bits — the int8 KV chunk codec's scalar math (nvcc only), shared by the kernels
// (kv_kernels.cu) and the host test that checks it bit for bit against the CPU codec
// (gpu/cpu/kv_codec.cpp; tests/gpu/kernel_math_host_test.cu). Everything is __host__ __device__.
#include <cstdint>

#include "gpu/cuda/half_bits.cuh"
#include "proto/kv_dtype.hpp"

namespace alisa::gpu::cuda {

// --- int8 chunk codec (kv_codec.cpp QuantizeChunk / gather_row) ----------------------------

// minps / maxps operand order of the CPU's hn::Min(mn, x) / hn::Max(mx, x): the running value
// wins only when strictly smaller / larger, so ties of ±0 and NaNs resolve as on the CPU's vector
// path. (The CPU's scalar tail, channels past the last whole SIMD vector when kv_dim is not a
// multiple of 8/16, uses std::min/max and may keep the other zero: only the sign of a zero
// minimum can then differ; codes, scales and decoded values do not.)
ALISA_HD float fold_min(float running, float x) { return running < x ? running : x; }
ALISA_HD float fold_max(float running, float x) { return running > x ? running : x; }

// scale = (max - min) / 255 with IEEE division.
ALISA_HD float chunk_scale(float mn, float mx) { return f_div(f_sub(mx, mn), 255.0f); }

// code = Min(Max(round_even((x - min) / scale), 0), 255), 0 when scale == 0 (a NaN quotient
// becomes 0 through the Max, as with maxps).
ALISA_HD uint8_t quantize_code(float x, float mn, float scale) {
  if (scale == 0.0f) return 0;
  float code = f_rint(f_div(f_sub(x, mn), scale));
  code = code > 0.0f ? code : 0.0f;
  code = code < 255.0f ? code : 255.0f;
  return static_cast<uint8_t>(static_cast<int>(code));
}

// x̂ = min + scale · code, product and sum rounded separately.
ALISA_HD float dequantize(float mn, float scale, uint8_t code) {
  return f_add(mn, f_mul(scale, static_cast<float>(code)));
}

// One channel of a complete chunk: x(t) for t in [0, kv_chunk_tokens) gives its minimum, scale
// and codes (code(t, value) receives each), folding in row order like the CPU's vector path.
template <class Value, class Code>
ALISA_HD void quantize_channel(Value x, float& minimum, float& scale, Code code) {
  float mn = x(0), mx = mn;
  for (int t = 1; t < kv_chunk_tokens; ++t) {
    const float v = x(t);
    mn = fold_min(mn, v);
    mx = fold_max(mx, v);
  }
  const float s = chunk_scale(mn, mx);
  minimum = mn;
  scale = s;
  for (int t = 0; t < kv_chunk_tokens; ++t) code(t, quantize_code(x(t), mn, s));
}

}  // namespace alisa::gpu::cuda
