// Element conversions. Hand-written bit manipulation (no compiler _Float16) so results are the same
// on every compiler and host, and rounding is exactly IEEE round-to-nearest-even.
#include "model/tensor.hpp"

#include <bit>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace alisa::model {

static_assert(std::endian::native == std::endian::little, "weight files are little-endian");

std::string describe(const tensor_view& t) {
  if (!t.present()) return "absent";
  return absl::StrCat(std::string(to_string(t.type)), "[", absl::StrJoin(t.shape, ","), "]");
}

float bf16_to_float(uint16_t v) { return std::bit_cast<float>(static_cast<uint32_t>(v) << 16); }

uint16_t float_to_bf16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) {  // NaN: keep the sign, force a quiet NaN (rounding could make it inf)
    return static_cast<uint16_t>((x >> 16) | 0x0040u);
  }
  const uint32_t rounded = x + 0x7fffu + ((x >> 16) & 1u);  // ties go to the even upper half
  return static_cast<uint16_t>(rounded >> 16);
}

float f16_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

uint16_t float_to_f16(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  x &= 0x7fffffffu;
  if (x >= 0x7f800000u) return sign | (x > 0x7f800000u ? 0x7e00u : 0x7c00u);  // NaN / inf
  if (x >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 rounds past the largest half (65504)
  if (x < 0x38800000u) {                        // below 2^-14: half subnormal (or zero)
    if (x <= 0x33000000u) return sign;          // <= 2^-25 rounds (ties-to-even) to zero
    const int exponent = static_cast<int>(x >> 23);
    const uint32_t mantissa = (x & 0x7fffffu) | 0x800000u;
    const int shift = 126 - exponent;  // value / 2^-24 = mantissa * 2^(exponent-126)
    uint32_t result = mantissa >> shift;
    const uint32_t rest = mantissa & ((1u << shift) - 1u);
    const uint32_t half = 1u << (shift - 1);
    if (rest > half || (rest == half && (result & 1u))) ++result;  // may carry into the min normal: fine
    return static_cast<uint16_t>(sign | result);
  }
  const uint32_t rounded = x + 0xfffu + ((x >> 13) & 1u);  // carry into the exponent is correct
  return static_cast<uint16_t>(sign | ((rounded - 0x38000000u) >> 13));
}

float element_as_float(const tensor_view& t, int64_t i) {
  if (t.type == dtype::q8_0) {  // rows are whole blocks, so element i is in block i / 32
    const auto* block = static_cast<const unsigned char*>(t.data) +
                        static_cast<size_t>(i / kQ8Block) * kQ8BlockBytes;
    uint16_t d;
    std::memcpy(&d, block, sizeof d);
    return f16_to_float(d) * static_cast<float>(static_cast<int8_t>(block[2 + i % kQ8Block]));
  }
  const auto* bytes = static_cast<const unsigned char*>(t.data) + static_cast<size_t>(i) * dtype_size(t.type);
  switch (t.type) {
    case dtype::f32: {
      float v;
      std::memcpy(&v, bytes, sizeof v);
      return v;
    }
    case dtype::f16:
    case dtype::bf16: {
      uint16_t v;
      std::memcpy(&v, bytes, sizeof v);
      return t.type == dtype::f16 ? f16_to_float(v) : bf16_to_float(v);
    }
    case dtype::q8_0: break;  // handled above
  }
  return 0.0f;
}

}  // namespace alisa::model
