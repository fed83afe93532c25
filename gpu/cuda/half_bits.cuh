#pragma once
// half_bits — scalar helpers the CUDA kernels share (nvcc only): IEEE operations that are never
// contracted into an FMA, and fp16/bf16 conversions that are bit-for-bit twins of the CPU
// backend's (gpu/cpu/convert.hpp/.cpp, NaN included), so both backends store the same bits.
// Everything is __host__ __device__: on the host the same functions can be checked against the
// CPU code on a machine without a GPU.
#include <cuda_runtime.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "proto/dtype.hpp"

namespace alisa::gpu::cuda {

// Each helper below is the device intrinsic (never contracted into an FMA) on the device and the
// plain operation on the host, where it serves host-side checks against the CPU codec.
#define ALISA_HD __host__ __device__ __forceinline__
#ifdef __CUDA_ARCH__
#define ALISA_HOST_DEVICE_SELECT(device_expr, host_expr) return device_expr
#else
#define ALISA_HOST_DEVICE_SELECT(device_expr, host_expr) return host_expr
#endif
ALISA_HD float f_sub(float a, float b) { ALISA_HOST_DEVICE_SELECT(__fsub_rn(a, b), a - b); }
ALISA_HD float f_add(float a, float b) { ALISA_HOST_DEVICE_SELECT(__fadd_rn(a, b), a + b); }
ALISA_HD float f_mul(float a, float b) { ALISA_HOST_DEVICE_SELECT(__fmul_rn(a, b), a * b); }
ALISA_HD float f_div(float a, float b) { ALISA_HOST_DEVICE_SELECT(__fdiv_rn(a, b), a / b); }
ALISA_HD float f_rint(float a) { ALISA_HOST_DEVICE_SELECT(rintf(a), std::nearbyint(a)); }
ALISA_HD float bits_to_float(uint32_t b) {
  ALISA_HOST_DEVICE_SELECT(__uint_as_float(b), std::bit_cast<float>(b));
}
ALISA_HD uint32_t float_to_bits(float f) {
  ALISA_HOST_DEVICE_SELECT(__float_as_uint(f), std::bit_cast<uint32_t>(f));
}
#undef ALISA_HOST_DEVICE_SELECT

// --- 16-bit conversions: twins of gpu/cpu/convert.hpp/.cpp, bit for bit (NaN included) --------

ALISA_HD float bf16_to_f32(uint16_t v) { return bits_to_float(static_cast<uint32_t>(v) << 16); }

ALISA_HD uint16_t f32_to_bf16(float f) {
  const uint32_t bits = float_to_bits(f);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  const uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

ALISA_HD float f16_to_f32(uint16_t v) {
  const uint32_t sign = static_cast<uint32_t>(v & 0x8000u) << 16;
  const uint32_t exp = (v >> 10) & 0x1fu;
  const uint32_t mant = v & 0x3ffu;
  if (exp == 0x1f) return bits_to_float(sign | 0x7f800000u | (mant << 13));  // inf / NaN
  if (exp != 0) return bits_to_float(sign | ((exp + 112u) << 23) | (mant << 13));
  // Zero or subnormal: mant · 2^-24 is exact in fp32; the sign goes on by bit.
  return bits_to_float(sign | float_to_bits(static_cast<float>(mant) * 5.9604644775390625e-8f));
}

ALISA_HD uint16_t f32_to_f16(float f) {
  const uint32_t bits = float_to_bits(f);
  const uint32_t sign = (bits >> 16) & 0x8000u;
  const uint32_t abs = bits & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to inf
  if (abs >= 0x38800000u) {                                               // normal half
    const uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u);
    return static_cast<uint16_t>(sign | ((rounded - (112u << 23)) >> 13));
  }
  if (abs < 0x33000000u) return static_cast<uint16_t>(sign);  // rounds to zero
  const uint32_t exp = abs >> 23;
  const uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126u - exp;  // 14..24
  const uint32_t half_ulp = 1u << (shift - 1);
  uint32_t result = mant >> shift;
  const uint32_t rest = mant & ((1u << shift) - 1u);
  if (rest > half_ulp || (rest == half_ulp && (result & 1u))) ++result;
  return static_cast<uint16_t>(sign | result);
}

// Storage type of a weight element of dtype D (16-bit types are kept as their raw bits).
template <dtype D>
using storage_t = std::conditional_t<D == dtype::f32, float, uint16_t>;

// --- warp reduction ------------------------------------------------------------------------------

// Sum over the warp by the fixed xor butterfly (offsets 16, 8, 4, 2, 1); every lane gets the same
// total (IEEE addition is commutative, so each level's pair sums agree bit for bit across lanes).
// linear_row_exact's bits are defined by this tree: keep it.
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// --- launch geometry -----------------------------------------------------------------------------

__device__ __forceinline__ int64_t flat_index() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t flat_stride() {
  return static_cast<int64_t>(gridDim.x) * blockDim.x;
}

// Grid for a [n][cols] walk with `threads` per block: x strides over the columns of a row, y over
// the rows (grid-stride both ways, so any n and cols fit).
inline dim3 rows_grid(int64_t n, int64_t cols, int threads) {
  return dim3(static_cast<unsigned>(std::min<int64_t>((cols + threads - 1) / threads, 1024)),
              static_cast<unsigned>(std::min<int64_t>(n, 65535)));
}

}  // namespace alisa::gpu::cuda
