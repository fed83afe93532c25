#pragma once
// Scalar element conversions for the CPU backend (upload paths and tails of SIMD loops).
// Own copies rather than model/'s so the backend does not depend on the loaders being linked.
// bf16 and fp16 conversions from fp32 round to nearest, ties to even; NaN stays NaN.
#include <bit>
#include <cstdint>
#include <cstring>

namespace alisa::gpu::cpu {

inline float bf16_to_f32(uint16_t v) { return std::bit_cast<float>(static_cast<uint32_t>(v) << 16); }

inline uint16_t f32_to_bf16(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);  // quiet NaN
  const uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

float f16_to_f32(uint16_t v);
uint16_t f32_to_f16(float f);

}  // namespace alisa::gpu::cpu
