// q8_0 weights on the CPU backend (gpu/cpu/q8_kernels.hpp): quantisation within Q8_0's rounding
// bound, GGUF blocks kept exactly, linear() against a double reference on the stored values at
// every path (direct decode kernel n <= 6, widened panels n > 6, partial blocks and panels),
// row_exact rows independent of n, and embed().
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "gpu/backend.hpp"
#include "gpu/cpu/cpu_backend.hpp"
#include "hwy/targets.h"
#include "model/tensor.hpp"
#include "tests/support/random_floats.hpp"

namespace alisa::gpu {
namespace {

using test::random_floats;

model::tensor_view f32_view(const std::vector<float>& v, std::vector<int64_t> shape) {
  return model::tensor_view{dtype::f32, std::move(shape), v.data()};
}

class Q8Weights : public testing::Test {
 protected:
  cpu::cpu_backend be_{2};

  float* buffer(size_t floats) { return static_cast<float*>(be_.allocate(floats * sizeof(float))); }
  float* copy_in(const std::vector<float>& host) {
    float* p = buffer(host.size());
    std::memcpy(p, host.data(), host.size() * sizeof(float));
    return p;
  }
  // Every stored weight, gathered row by row through embed().
  std::vector<float> stored(const weight_matrix& w) {
    std::vector<int32_t> all(static_cast<size_t>(w.rows));
    std::iota(all.begin(), all.end(), 0);
    float* out = buffer(static_cast<size_t>(w.rows * w.cols));
    be_.embed(all.data(), static_cast<int>(w.rows), w, out);
    std::vector<float> host(out, out + w.rows * w.cols);
    be_.release(out);
    return host;
  }
};

// Row-major GGUF Q8_0 blocks with random scales and codes (codes span the whole int8 range).
std::vector<unsigned char> random_blocks(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> scale(1e-4f, 2e-2f);
  std::uniform_int_distribution<int> code(-128, 127);
  std::vector<unsigned char> out;
  for (int64_t b = 0; b < rows * cols / 32; ++b) {
    const uint16_t d = model::float_to_f16(scale(rng));
    out.push_back(static_cast<unsigned char>(d & 0xff));
    out.push_back(static_cast<unsigned char>(d >> 8));
    for (int j = 0; j < 32; ++j) out.push_back(static_cast<unsigned char>(static_cast<int8_t>(code(rng))));
  }
  return out;
}

TEST_F(Q8Weights, QuantisationStaysWithinHalfAStepOfEachBlock) {
  const int64_t rows = 37, cols = 100;  // a partial last block (100 = 3·32 + 4) and panel
  const auto src = random_floats(static_cast<size_t>(rows * cols), 1, -3.0f, 3.0f);
  const weight_matrix w = be_.upload_matrix(f32_view(src, {rows, cols}), {}, dtype::q8_0);
  EXPECT_EQ(w.type, dtype::q8_0);
  EXPECT_EQ(w.num_bytes(), static_cast<size_t>(rows * 4 * 34));
  const auto back = stored(w);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k0 = 0; k0 < cols; k0 += 32) {
      float amax = 0;
      for (int64_t c = k0; c < std::min(cols, k0 + 32); ++c) amax = std::max(amax, std::fabs(src[r * cols + c]));
      const float step = amax / 127.0f;  // half a step, plus the fp16 scale's rounding over 127
      for (int64_t c = k0; c < std::min(cols, k0 + 32); ++c)
        ASSERT_NEAR(back[r * cols + c], src[r * cols + c], 0.5f * step + 127.0f * step * 0x1p-11f) << r << "," << c;
    }
}

TEST_F(Q8Weights, GgufBlocksAreKeptExactlyAndDequantiseToAnyType) {
  const int64_t rows = 20, cols = 96;
  const auto blocks = random_blocks(rows, cols, 2);
  const model::tensor_view view{dtype::q8_0, {rows, cols}, blocks.data()};
  std::vector<float> want(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows * cols; ++i) want[static_cast<size_t>(i)] = model::element_as_float(view, i);
  EXPECT_EQ(stored(be_.upload_matrix(view, {}, dtype::q8_0)), want) << "repacked, not requantised";
  EXPECT_EQ(stored(be_.upload_matrix(view, {}, dtype::f32)), want) << "dequantised at upload";
  const auto bf = stored(be_.upload_matrix(view, {}, dtype::bf16));
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(bf[i], want[i], std::fabs(want[i]) * 0x1p-8f) << i;
  const float* v = be_.upload_vector(model::tensor_view{dtype::q8_0, {rows * cols}, blocks.data()});
  EXPECT_EQ(std::vector<float>(v, v + rows * cols), want) << "a q8_0 vector widens to fp32";
}

// Every path of linear_q8_0: the direct kernel for 1..6 rows, widened panels beyond, partial
// last block (cols % 32) and panel (rows % 16), with a bias; against a double reference on the
// stored values, on every SIMD target this machine has (AVX-512, AVX2) and the scalar fallback.
// x is exactly n rows each time, so a read past the last row's `cols` would read freed memory.
TEST_F(Q8Weights, LinearMatchesTheDoubleReferenceOnEveryPathAndTarget) {
  const int64_t rows = 37, cols = 1001;
  const auto wsrc = random_floats(static_cast<size_t>(rows * cols), 3);
  const auto bias = random_floats(static_cast<size_t>(rows), 4);
  const auto xall = random_floats(static_cast<size_t>(80 * cols), 5);
  const weight_matrix w = be_.upload_matrix(f32_view(wsrc, {rows, cols}), f32_view(bias, {rows}), dtype::q8_0);
  const auto wq = stored(w);
  const int64_t available = hwy::SupportedTargets();
  for (int64_t target : {int64_t{HWY_AVX3}, int64_t{HWY_AVX2}, int64_t{HWY_SCALAR}}) {
    if ((available & target) == 0) continue;
    hwy::SetSupportedTargetsForTest(target);
    for (int n : {1, 2, 3, 4, 5, 6, 7, 9, 13, 80}) {
      const std::vector<float> x(xall.begin(), xall.begin() + n * cols);
      std::vector<float> y(static_cast<size_t>(n * rows));
      for (bool row_exact : {false, true}) {
        if (row_exact)
          be_.linear_row_exact(x.data(), n, w, y.data());
        else
          be_.linear(x.data(), n, w, y.data());
        for (int64_t m = 0; m < n; ++m)
          for (int64_t r = 0; r < rows; ++r) {
            double s = bias[static_cast<size_t>(r)], a = std::fabs(s);
            for (int64_t c = 0; c < cols; ++c) {
              const double t = double{x[static_cast<size_t>(m * cols + c)]} * wq[static_cast<size_t>(r * cols + c)];
              s += t;
              a += std::fabs(t);
            }
            ASSERT_NEAR(y[static_cast<size_t>(m * rows + r)], s, 1e-5 * std::max(1.0, a))
                << hwy::TargetName(target) << " n=" << n << " m=" << m << " r=" << r
                << (row_exact ? " row_exact" : "");
          }
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}

// K/V recomputation needs a row's projection not to depend on how many rows shared the call.
// Up to 6 rows run the direct row-exact kernel, more the widened fp32 one: the same bits.
TEST_F(Q8Weights, RowExactRowsDoNotDependOnN) {
  for (const int64_t cols : {int64_t{288}, int64_t{1001}}) {  // whole blocks, and a partial one
    const int64_t rows = 40;
    const auto wsrc = random_floats(static_cast<size_t>(rows * cols), 6);
    const auto xall = random_floats(static_cast<size_t>(50 * cols), 7);
    const weight_matrix w = be_.upload_matrix(f32_view(wsrc, {rows, cols}), {}, dtype::q8_0);
    std::vector<float> all(static_cast<size_t>(50 * rows)), some(all.size());
    be_.linear_row_exact(xall.data(), 50, w, all.data());
    for (int n : {1, 2, 5, 6, 7, 17}) {
      be_.linear_row_exact(xall.data(), n, w, some.data());
      for (int64_t i = 0; i < n * rows; ++i)
        ASSERT_EQ(some[static_cast<size_t>(i)], all[static_cast<size_t>(i)]) << "cols=" << cols << " n=" << n << " i=" << i;
    }
  }
}

TEST_F(Q8Weights, EmbedReturnsTheStoredRows) {
  const int64_t vocab = 33, dim = 64;
  const auto blocks = random_blocks(vocab, dim, 8);
  const model::tensor_view view{dtype::q8_0, {vocab, dim}, blocks.data()};
  const weight_matrix table = be_.upload_matrix(view, {}, dtype::q8_0);
  const std::vector<int32_t> tokens = {32, 0, 17, 17};
  float* out = buffer(tokens.size() * dim);
  be_.embed(tokens.data(), static_cast<int>(tokens.size()), table, out);
  for (size_t i = 0; i < tokens.size(); ++i)
    for (int64_t c = 0; c < dim; ++c)
      ASSERT_EQ(out[i * dim + c], model::element_as_float(view, tokens[i] * dim + c)) << i << "," << c;
}

}  // namespace
}  // namespace alisa::gpu
