// The CUDA kernels' scalar math run on the host against the CPU backend: the fp16/bf16 conversions
// (gpu/cuda/half_bits.cuh vs gpu/cpu/convert.hpp) and the int8 KV chunk codec
// (gpu/cuda/kv_codec_bits.cuh vs gpu/cpu/kv_codec.hpp). Compiled by nvcc, so the very functions
// the kernels inline are checked, in CI, without a GPU. Both backends must store the same bits
// for the same fp32 values (KV rows written by one and read by the other, weights uploaded by
// either).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include <random>
#include <vector>

#include "gpu/cpu/convert.hpp"
#include "gpu/cpu/kv_codec.hpp"
#include "gpu/cuda/half_bits.cuh"
#include "gpu/cuda/kv_codec_bits.cuh"

namespace alisa::gpu {
namespace {

TEST(CudaKernelMathOnHost, WideningEvery16BitPatternMatchesTheCpu) {
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
TEST(CudaKernelMathOnHost, NarrowingMatchesTheCpuBitForBit) {
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

TEST(CudaKernelMathOnHost, RoundedOperationsAreIeeeOnTheHost) {
  EXPECT_EQ(cuda::f_div(1.0f, 3.0f), 1.0f / 3.0f);
  EXPECT_EQ(cuda::f_rint(2.5f), 2.0f);  // ties to even, as rintf on the device
  EXPECT_EQ(cuda::f_rint(3.5f), 4.0f);
  EXPECT_EQ(cuda::f_add(cuda::f_mul(3.0f, 0.1f), 1.0f), 3.0f * 0.1f + 1.0f);
}

// Channel c of a [64][dim] chunk, and where its codes go: callables the __host__ __device__
// quantize_channel may call (a host lambda would only be allowed with --expt-relaxed-constexpr).
struct column {
  const float* rows;
  int dim, c;
  __host__ __device__ float operator()(int t) const { return rows[t * dim + c]; }
};
struct code_sink {
  uint8_t* codes;
  int dim, c;
  __host__ __device__ void operator()(int t, uint8_t code) const { codes[t * dim + c] = code; }
};

// Chunks of random rows, constant channels, exact ties and signed zeros: the kernel's per-channel
// quantisation gives the CPU codec's minimum, scale and codes bit for bit, and decoding them gives
// the CPU's decoded rows. kv_dim a multiple of 16, as real KV rows are (the CPU's vector path).
TEST(CudaKernelMathOnHost, Int8ChunkCodecMatchesTheCpuBitForBit) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (int dim : {16, 32, 64, 128}) {
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<float> rows(static_cast<size_t>(kv_chunk_tokens * dim));
      for (auto& x : rows) x = normal(rng);
      for (int t = 0; t < kv_chunk_tokens; ++t) {
        rows[static_cast<size_t>(t * dim)] = 1.5f;                     // constant channel
        rows[static_cast<size_t>(t * dim + 1)] = (t % 2) ? 0.0f : -0.0f;  // signed zeros
        rows[static_cast<size_t>(t * dim + 2)] = static_cast<float>(t % 4);  // exact ties
      }
      std::vector<uint8_t> cpu_codes(rows.size()), gpu_codes(rows.size());
      std::vector<float> cpu_min(dim), cpu_scale(dim), gpu_min(dim), gpu_scale(dim);
      cpu::kv_codec::quantize_chunk(rows.data(), dim, cpu_codes.data(), cpu_min.data(),
                                    cpu_scale.data());
      for (int c = 0; c < dim; ++c)
        cuda::quantize_channel(column{rows.data(), dim, c}, gpu_min[c], gpu_scale[c],
                               code_sink{gpu_codes.data(), dim, c});
      ASSERT_EQ(gpu_codes, cpu_codes) << "dim " << dim << " trial " << trial;
      for (int c = 0; c < dim; ++c) {
        ASSERT_EQ(std::bit_cast<uint32_t>(gpu_min[c]), std::bit_cast<uint32_t>(cpu_min[c]))
            << "minimum, channel " << c;
        ASSERT_EQ(std::bit_cast<uint32_t>(gpu_scale[c]), std::bit_cast<uint32_t>(cpu_scale[c]))
            << "scale, channel " << c;
      }
      // Decoding: the CPU gathers row t of a one-chunk i8 layer; the kernel decodes min + s·code.
      kv_rows layer;
      layer.type = kv_dtype::i8;
      layer.data = cpu_codes.data();
      layer.minimum = cpu_min.data();
      layer.scale = cpu_scale.data();
      layer.kv_dim = dim;
      std::vector<int32_t> all(kv_chunk_tokens);
      for (int t = 0; t < kv_chunk_tokens; ++t) all[static_cast<size_t>(t)] = t;
      std::vector<float> decoded(rows.size());
      cpu::kv_codec::gather_rows(layer, all.data(), kv_chunk_tokens, false, decoded.data());
      for (size_t i = 0; i < rows.size(); ++i) {
        const size_t c = i % static_cast<size_t>(dim);
        ASSERT_EQ(std::bit_cast<uint32_t>(cuda::dequantize(cpu_min[c], cpu_scale[c], cpu_codes[i])),
                  std::bit_cast<uint32_t>(decoded[i]))
            << "decoded element " << i;
      }
    }
  }
}

}  // namespace
}  // namespace alisa::gpu
