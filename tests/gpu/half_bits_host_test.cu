// The CUDA kernels' scalar conversions (gpu/cuda/half_bits.cuh) run on the host against the CPU
// backend's (gpu/cpu/convert.hpp): compiled by nvcc, so the very functions the kernels inline are
// checked, in CI, without a GPU. Both backends must store the same bits for the same fp32 value
// (KV rows written by one and read by the other, weights uploaded by either).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "gpu/cpu/convert.hpp"
#include "gpu/cuda/half_bits.cuh"

namespace alisa::gpu {
namespace {

TEST(CudaHalfBitsOnHost, WideningEvery16BitPatternMatchesTheCpu) {
  for (uint32_t v = 0; v <= 0xffffu; ++v) {
    const auto bits = static_cast<uint16_t>(v);
    ASSERT_EQ(std::bit_cast<uint32_t>(cuda::bf16_to_f32(bits)),
              std::bit_cast<uint32_t>(cpu::bf16_to_f32(bits)))
        << "bf16 0x" << std::hex << v;
    ASSERT_EQ(std::bit_cast<uint32_t>(cuda::f16_to_f32(bits)),
              std::bit_cast<uint32_t>(cpu::f16_to_f32(bits)))
        << "f16 0x" << std::hex << v;
  }
}

// Every 97th fp32 pattern (all exponents, both signs, NaNs, infinities, subnormals, the rounding
// ties at each boundary the stride hits) plus the special values, narrowed both ways.
TEST(CudaHalfBitsOnHost, NarrowingMatchesTheCpuBitForBit) {
  auto check = [](uint32_t bits) {
    const float f = std::bit_cast<float>(bits);
    ASSERT_EQ(cuda::f32_to_bf16(f), cpu::f32_to_bf16(f)) << "bf16 of 0x" << std::hex << bits;
    ASSERT_EQ(cuda::f32_to_f16(f), cpu::f32_to_f16(f)) << "f16 of 0x" << std::hex << bits;
  };
  for (uint64_t bits = 0; bits <= 0xffffffffull; bits += 97) check(static_cast<uint32_t>(bits));
  for (float f : {0.0f, -0.0f, 1.0f, 65504.0f, 65520.0f, 65519.996f, 5.9604645e-8f,
                  2.9802322e-8f, std::numeric_limits<float>::infinity(),
                  -std::numeric_limits<float>::infinity(),
                  std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::denorm_min()})
    check(std::bit_cast<uint32_t>(f));
}

TEST(CudaHalfBitsOnHost, RoundedOperationsAreIeeeOnTheHost) {
  EXPECT_EQ(cuda::f_div(1.0f, 3.0f), 1.0f / 3.0f);
  EXPECT_EQ(cuda::f_rint(2.5f), 2.0f);  // ties to even, as rintf on the device
  EXPECT_EQ(cuda::f_rint(3.5f), 4.0f);
  EXPECT_EQ(cuda::f_add(cuda::f_mul(3.0f, 0.1f), 1.0f), 3.0f * 0.1f + 1.0f);
}

}  // namespace
}  // namespace alisa::gpu
