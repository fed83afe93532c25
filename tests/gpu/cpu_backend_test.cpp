// Backend ops against naive double-precision references written here. Parameterised over backend
// kinds (and thread counts) so a CUDA backend can join by being built: kinds that make_backend()
// refuses are skipped.
#include <gtest/gtest.h>

#include <cstring>

#include "gpu/kv_cache.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "gpu/backend.hpp"
#include "hwy/targets.h"
#include "gpu/cpu/cpu_backend.hpp"
#include "gpu/cpu/memory_bandwidth.hpp"
#include "gpu/cpu/thread_pool.hpp"
#include "tests/support/backend_params.hpp"
#include "tests/support/random_floats.hpp"

namespace alisa::gpu {
namespace {

using test::random_floats;

// fp32 KV rows [positions][kv_dim] at `data`, as an attention item reads them.
kv_rows f32_rows(float* data, int kv_dim) {
  kv_rows r;
  r.data = data;
  r.kv_dim = kv_dim;
  return r;
}

model::tensor_view f32_view(const std::vector<float>& v, std::vector<int64_t> shape) {
  return model::tensor_view{dtype::f32, std::move(shape), v.data()};
}

using test::backend_param;
class BackendTest : public testing::TestWithParam<backend_param> {
 protected:
  void SetUp() override {
    ALISA_MAKE_BACKEND_OR_SKIP(be_, GetParam());
  }

  // Backend buffer holding `host`; freed with the backend.
  float* to_backend(const std::vector<float>& host) {
    auto* p = static_cast<float*>(be_->allocate(host.size() * sizeof(float)));
    be_->upload(p, host.data(), host.size() * sizeof(float));
    return p;
  }
  float* zeros(size_t count) { return static_cast<float*>(be_->allocate(count * sizeof(float))); }
  std::vector<float> to_host(const float* p, size_t count) {
    std::vector<float> host(count);
    be_->download(host.data(), p, count * sizeof(float));
    return host;
  }
  // The weights as the backend stores them, read back as floats. The storage layout is the
  // backend's own, so they come back through its ops: embed() gathers rows; linear() on the
  // identity gives y[m][r] = W[r][m] exactly for finite weights (one product by 1, exact zeros).
  std::vector<float> stored_weights(const weight_matrix& w) {
    std::vector<int32_t> all(static_cast<size_t>(w.rows));
    std::iota(all.begin(), all.end(), 0);
    float* out = zeros(static_cast<size_t>(w.rows * w.cols));
    be_->embed(all.data(), static_cast<int>(w.rows), w, out);
    auto host = to_host(out, static_cast<size_t>(w.rows * w.cols));
    be_->release(out);
    return host;
  }
  std::vector<float> stored_weights_via_linear(const weight_matrix& w) {
    const weight_matrix nobias{w.type, w.rows, w.cols, w.data, nullptr};
    std::vector<float> eye(static_cast<size_t>(w.cols * w.cols), 0.0f);
    for (int64_t c = 0; c < w.cols; ++c) eye[static_cast<size_t>(c * w.cols + c)] = 1.0f;
    float* x = to_backend(eye);
    float* y = zeros(static_cast<size_t>(w.cols * w.rows));
    be_->linear(x, static_cast<int>(w.cols), nobias, y);
    const auto yt = to_host(y, static_cast<size_t>(w.cols * w.rows));
    be_->release(x);
    be_->release(y);
    std::vector<float> out(static_cast<size_t>(w.rows * w.cols));
    for (int64_t r = 0; r < w.rows; ++r)
      for (int64_t c = 0; c < w.cols; ++c)
        out[static_cast<size_t>(r * w.cols + c)] = yt[static_cast<size_t>(c * w.rows + r)];
    return out;
  }

  std::unique_ptr<backend> be_;
};

void expect_close(const std::vector<float>& got, const std::vector<double>& want,
                  const std::vector<double>& scale, double rel_tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    const double tol = rel_tol * std::max(1.0, scale[i]);
    ASSERT_NEAR(got[i], want[i], tol) << what << " at index " << i;
  }
}
void expect_close(const std::vector<float>& got, const std::vector<double>& want, double rel_tol,
                  const std::string& what) {
  std::vector<double> scale(want.size());
  for (size_t i = 0; i < want.size(); ++i) scale[i] = std::abs(want[i]);
  expect_close(got, want, scale, rel_tol, what);
}

// --- memory ------------------------------------------------------------------------------------

TEST_P(BackendTest, AllocateIsZeroedAndAligned) {
  for (size_t bytes : {size_t{1}, size_t{100}, size_t{4096}, size_t{3} << 20}) {
    auto* p = static_cast<unsigned char*>(be_->allocate(bytes));
    ASSERT_NE(p, nullptr);
    if (GetParam().kind == backend_kind::cpu) {
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
      EXPECT_TRUE(std::all_of(p, p + bytes, [](unsigned char c) { return c == 0; }));
    }
    be_->release(p);
  }
  be_->release(nullptr);
}

TEST_P(BackendTest, UploadDownloadCopyRoundTrip) {
  const auto host = random_floats(1000, 1);
  float* a = to_backend(host);
  float* b = zeros(host.size());
  be_->copy(b, a, host.size() * sizeof(float));
  be_->synchronize();
  EXPECT_EQ(to_host(b, host.size()), host);
}

TEST_P(BackendTest, UploadMatrixConvertsWithRoundToNearestEven) {
  // 1 + 2^-8 is halfway between two bf16 values: ties go to the even mantissa (1.0);
  // 1 + 3·2^-8 goes up to 1 + 2^-6. 1 + 2^-11 is an fp16 tie -> 1.0.
  const std::vector<float> src = {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-11f, -2.5f, 0.0f, 65504.0f};
  const auto view = f32_view(src, {2, 3});
  const weight_matrix bf = be_->upload_matrix(view, {}, dtype::bf16);
  EXPECT_EQ(bf.rows, 2);
  EXPECT_EQ(bf.cols, 3);
  EXPECT_EQ(bf.bias, nullptr);
  const auto bf_back = stored_weights(bf);
  EXPECT_EQ(bf_back[0], 1.0f);
  EXPECT_EQ(bf_back[1], 1.0f + 0x1p-6f);
  EXPECT_EQ(bf_back[3], -2.5f);
  const weight_matrix h = be_->upload_matrix(view, {}, dtype::f16);
  const auto h_back = stored_weights(h);
  EXPECT_EQ(h_back[2], 1.0f);
  EXPECT_EQ(h_back[3], -2.5f);
  EXPECT_EQ(h_back[5], 65504.0f);
  // 16-bit sources: bf16 -> f32 is exact; bf16 -> f16 goes through fp32.
  std::vector<uint16_t> bf_raw(6);
  for (size_t i = 0; i < bf_raw.size(); ++i)
    bf_raw[i] = static_cast<uint16_t>(std::bit_cast<uint32_t>(bf_back[i]) >> 16);  // exact
  const model::tensor_view bf_view{dtype::bf16, {2, 3}, bf_raw.data()};
  EXPECT_EQ(stored_weights(be_->upload_matrix(bf_view, {}, dtype::f32)), bf_back);
  EXPECT_EQ(stored_weights(be_->upload_matrix(bf_view, {}, dtype::f16))[3], -2.5f);
  EXPECT_EQ(be_->upload_vector({}), nullptr);
  const float* v = be_->upload_vector(bf_view);
  EXPECT_EQ(to_host(v, 6), bf_back);
}

TEST_P(BackendTest, UploadMatrixLargeParallelConversionMatchesScalar) {
  const auto src = random_floats(300 * 333, 2, -100.0f, 100.0f);
  for (dtype t : {dtype::bf16, dtype::f16}) {
    const auto w = be_->upload_matrix(f32_view(src, {300, 333}), {}, t);
    const auto back = stored_weights(w);
    for (size_t i = 0; i < src.size(); ++i)
      ASSERT_NEAR(back[i], src[i], std::abs(src[i]) * (t == dtype::bf16 ? 0x1p-8 : 0x1p-11)) << i;
  }
}

TEST_P(BackendTest, UploadMatrixRejectsWrongBiasLength) {
  const auto w = random_floats(6, 3);
  const auto b = random_floats(4, 3);
  EXPECT_THROW(be_->upload_matrix(f32_view(w, {2, 3}), f32_view(b, {4}), dtype::f32),
               std::invalid_argument);
}

// --- linear ------------------------------------------------------------------------------------

struct linear_case {
  int rows, cols;
};

TEST_P(BackendTest, LinearMatchesDoubleReference) {
  const linear_case shapes[] = {{1, 1}, {5, 7}, {33, 19}, {64, 48}, {70, 131}, {130, 256}};
  uint32_t seed = 10;
  for (dtype type : {dtype::f32, dtype::bf16, dtype::f16}) {
    for (const auto [rows, cols] : shapes) {
      for (bool with_bias : {false, true}) {
        const auto wsrc = random_floats(static_cast<size_t>(rows) * cols, ++seed);
        const auto bsrc = random_floats(static_cast<size_t>(rows), ++seed);
        const weight_matrix w = be_->upload_matrix(
            f32_view(wsrc, {rows, cols}), with_bias ? f32_view(bsrc, {rows}) : model::tensor_view{}, type);
        const auto wq = stored_weights(w);  // reference on the same rounded weights
        for (int n : {1, 2, 3, 5, 17, 64}) {
          const auto xh = random_floats(static_cast<size_t>(n) * cols, ++seed);
          float* x = to_backend(xh);
          float* y = zeros(static_cast<size_t>(n) * rows);
          be_->linear(x, n, w, y);
          std::vector<double> want(static_cast<size_t>(n) * rows), scale(want.size());
          for (int m = 0; m < n; ++m)
            for (int r = 0; r < rows; ++r) {
              double s = with_bias ? bsrc[static_cast<size_t>(r)] : 0.0, a = std::abs(s);
              for (int c = 0; c < cols; ++c) {
                const double t = double{xh[static_cast<size_t>(m) * cols + c]} * wq[static_cast<size_t>(r) * cols + c];
                s += t;
                a += std::abs(t);
              }
              want[static_cast<size_t>(m) * rows + r] = s;
              scale[static_cast<size_t>(m) * rows + r] = a;
            }
          // The GPU rounds x to the weight dtype for its 16-bit GEMMs: held to 1e-2 there.
          const double tol = type == dtype::f32 ? 1e-4 : test::tolerance(GetParam(), 1e-4, 1e-2);
          expect_close(to_host(y, want.size()), want, scale, tol,
                       std::string(to_string(type)) + " " + std::to_string(rows) + "x" +
                           std::to_string(cols) + " n=" + std::to_string(n) + (with_bias ? " bias" : ""));
          be_->release(x);
          be_->release(y);
        }
      }
    }
  }
}

// --- embed / norms / elementwise ---------------------------------------------------------------

TEST_P(BackendTest, EmbedGathersAndConverts) {
  const int vocab = 11, dim = 13;
  const auto table = random_floats(vocab * dim, 20);
  const std::vector<int32_t> tokens = {3, 0, 10, 3, 7};
  for (dtype type : {dtype::f32, dtype::bf16, dtype::f16}) {
    const auto w = be_->upload_matrix(f32_view(table, {vocab, dim}), {}, type);
    const auto wq = stored_weights_via_linear(w);
    float* out = zeros(tokens.size() * dim);
    be_->embed(tokens.data(), static_cast<int>(tokens.size()), w, out);
    const auto got = to_host(out, tokens.size() * dim);
    for (size_t i = 0; i < tokens.size(); ++i)
      for (int d = 0; d < dim; ++d)
        ASSERT_EQ(got[i * dim + d], wq[static_cast<size_t>(tokens[i]) * dim + d]) << to_string(type);
  }
}

TEST_P(BackendTest, RmsNormMatchesReference) {
  for (int dim : {1, 7, 64, 771}) {
    for (int n : {1, 3, 60}) {
      const auto xh = random_floats(static_cast<size_t>(n) * dim, 30 + dim + n, -3, 3);
      const auto gh = random_floats(static_cast<size_t>(dim), 31 + dim);
      const float eps = 1e-5f;
      float* y = zeros(xh.size());
      be_->rms_norm(to_backend(xh), n, dim, to_backend(gh), eps, y);
      std::vector<double> want(xh.size());
      for (int m = 0; m < n; ++m) {
        double ss = 0;
        for (int d = 0; d < dim; ++d) ss += double{xh[m * dim + d]} * xh[m * dim + d];
        const double inv = 1.0 / std::sqrt(ss / dim + eps);
        for (int d = 0; d < dim; ++d) want[m * dim + d] = xh[m * dim + d] * inv * gh[d];
      }
      expect_close(to_host(y, xh.size()), want, 1e-4, "rms dim=" + std::to_string(dim));
    }
  }
}

TEST_P(BackendTest, LayerNormMatchesReference) {
  for (int dim : {1, 7, 64, 771}) {
    for (int n : {1, 3, 60}) {
      // An offset mean checks the two-pass variance.
      const auto xh = random_floats(static_cast<size_t>(n) * dim, 40 + dim + n, 9, 11);
      const auto gh = random_floats(static_cast<size_t>(dim), 41 + dim);
      const auto bh = random_floats(static_cast<size_t>(dim), 42 + dim);
      const float eps = 1e-5f;
      float* y = zeros(xh.size());
      be_->layer_norm(to_backend(xh), n, dim, to_backend(gh), to_backend(bh), eps, y);
      std::vector<double> want(xh.size()), scale(xh.size());
      for (int m = 0; m < n; ++m) {
        double mean = 0, var = 0;
        for (int d = 0; d < dim; ++d) mean += xh[m * dim + d];
        mean /= dim;
        for (int d = 0; d < dim; ++d) var += (xh[m * dim + d] - mean) * (xh[m * dim + d] - mean);
        var /= dim;
        const double inv = 1.0 / std::sqrt(var + eps);
        for (int d = 0; d < dim; ++d) {
          want[m * dim + d] = (xh[m * dim + d] - mean) * inv * gh[d] + bh[d];
          scale[m * dim + d] = 10.0 * (std::abs((xh[m * dim + d] - mean) * inv * gh[d]) + std::abs(bh[d]));
        }
      }
      // Centring values near 10 loses ~log2(10/spread) bits in fp32 input, hence the scale.
      expect_close(to_host(y, xh.size()), want, scale, 1e-4, "ln dim=" + std::to_string(dim));
    }
  }
}

TEST_P(BackendTest, RopeBothLayouts) {
  const int heads = 3, head_dim = 10, n = 4;
  const std::vector<int32_t> positions = {0, 1, 17, 4095};
  const float theta = 10000.0f;
  for (auto layout : {model::rope_layout::rotate_half, model::rope_layout::interleaved}) {
    const auto xh = random_floats(static_cast<size_t>(n) * heads * head_dim, 50);
    float* x = to_backend(xh);
    be_->rope(x, n, heads, head_dim, positions.data(), theta, layout);
    std::vector<double> want(xh.begin(), xh.end());
    const int half = head_dim / 2;
    for (int m = 0; m < n; ++m)
      for (int h = 0; h < heads; ++h)
        for (int i = 0; i < half; ++i) {
          const double angle = positions[m] * std::pow(double{theta}, -2.0 * i / head_dim);
          const size_t base = static_cast<size_t>((m * heads + h) * head_dim);
          const size_t a = base + (layout == model::rope_layout::interleaved ? 2 * i : i);
          const size_t b = base + (layout == model::rope_layout::interleaved ? 2 * i + 1 : i + half);
          want[a] = xh[a] * std::cos(angle) - xh[b] * std::sin(angle);
          want[b] = xh[a] * std::sin(angle) + xh[b] * std::cos(angle);
        }
    expect_close(to_host(x, xh.size()), want, std::vector<double>(want.size(), 1.0), 1e-5,
                 layout == model::rope_layout::interleaved ? "interleaved" : "rotate_half");
  }
  // layout none leaves x alone.
  const auto xh = random_floats(30, 51);
  float* x = to_backend(xh);
  be_->rope(x, 1, 3, 10, positions.data(), theta, model::rope_layout::none);
  EXPECT_EQ(to_host(x, 30), xh);
}

TEST_P(BackendTest, ElementwiseOps) {
  for (int64_t count : {int64_t{1}, int64_t{37}, int64_t{100003}}) {
    const auto g = random_floats(static_cast<size_t>(count), 60, -20, 20);
    const auto u = random_floats(static_cast<size_t>(count), 61, -2, 2);
    float* y = zeros(g.size());
    be_->silu_mul(to_backend(g), to_backend(u), count, y);
    std::vector<double> want(g.size());
    for (size_t i = 0; i < g.size(); ++i) want[i] = g[i] / (1.0 + std::exp(-double{g[i]})) * u[i];
    expect_close(to_host(y, g.size()), want, 1e-4, "silu_mul");

    float* r = to_backend(g);
    be_->relu(r, count);
    for (size_t i = 0; i < g.size(); ++i) want[i] = std::max(0.0, double{g[i]});
    expect_close(to_host(r, g.size()), want, 1e-7, "relu");

    float* a = to_backend(g);
    be_->add(a, to_backend(u), count);
    for (size_t i = 0; i < g.size(); ++i) want[i] = double{g[i]} + u[i];
    expect_close(to_host(a, g.size()), want, 1e-6, "add");
  }
}

// --- attention ---------------------------------------------------------------------------------

struct attn_seq {
  int num_rows, past_len;
};

void attention_reference(const std::vector<float>& q, const std::vector<float>& k,
                         const std::vector<float>& v, const attn_seq& s, const attention_shape& sh,
                         std::vector<double>& out) {
  const int q_dim = sh.num_heads * sh.head_dim, kv_dim = sh.num_kv_heads * sh.head_dim;
  const int group = sh.num_heads / sh.num_kv_heads;
  out.assign(static_cast<size_t>(s.num_rows) * q_dim, 0.0);
  for (int i = 0; i < s.num_rows; ++i)
    for (int h = 0; h < sh.num_heads; ++h) {
      const int kvh = h / group, len = s.past_len + i + 1;
      std::vector<double> p(static_cast<size_t>(len));
      double mx = -1e300, total = 0;
      for (int t = 0; t < len; ++t) {
        double dot = 0;
        for (int d = 0; d < sh.head_dim; ++d)
          dot += double{q[i * q_dim + h * sh.head_dim + d]} * k[t * kv_dim + kvh * sh.head_dim + d];
        p[t] = dot * sh.scale;
        mx = std::max(mx, p[t]);
      }
      for (auto& x : p) total += (x = std::exp(x - mx));
      for (int t = 0; t < len; ++t)
        for (int d = 0; d < sh.head_dim; ++d)
          out[i * q_dim + h * sh.head_dim + d] += p[t] / total * v[t * kv_dim + kvh * sh.head_dim + d];
    }
}

TEST_P(BackendTest, AttentionGqaWithPastAndSeveralItems) {
  for (const attention_shape sh : {attention_shape{4, 2, 16, 0.25f}, attention_shape{6, 2, 5, 0.45f},
                                   attention_shape{2, 2, 64, 0.125f}}) {
    const std::vector<attn_seq> seqs = {{1, 0}, {3, 5}, {1, 40}, {17, 0}, {2, 9}};
    const int q_dim = sh.num_heads * sh.head_dim, kv_dim = sh.num_kv_heads * sh.head_dim;
    std::vector<attention_item> items;
    std::vector<std::vector<double>> want(seqs.size());
    std::vector<float*> outs;
    uint32_t seed = 70;
    for (size_t s = 0; s < seqs.size(); ++s) {
      const int len = seqs[s].past_len + seqs[s].num_rows;
      // Scores of a few units: softmax is neither flat nor one-hot.
      const auto q = random_floats(static_cast<size_t>(seqs[s].num_rows) * q_dim, ++seed, -3, 3);
      const auto k = random_floats(static_cast<size_t>(len + 2) * kv_dim, ++seed, -3, 3);
      const auto v = random_floats(static_cast<size_t>(len + 2) * kv_dim, ++seed);
      attention_reference(q, k, v, seqs[s], sh, want[s]);
      float* out = zeros(want[s].size());
      outs.push_back(out);
      attention_item item;
      item.q = to_backend(q);
      item.keys = f32_rows(to_backend(k), kv_dim);
      item.values = f32_rows(to_backend(v), kv_dim);
      item.out = out;
      item.num_rows = seqs[s].num_rows;
      item.past_len = seqs[s].past_len;
      items.push_back(item);
    }
    be_->attention(items, sh);
    for (size_t s = 0; s < seqs.size(); ++s)
      expect_close(to_host(outs[s], want[s].size()), want[s], std::vector<double>(want[s].size(), 1.0),
                   1e-4, "attention item " + std::to_string(s) + " head_dim " + std::to_string(sh.head_dim));
  }
}

TEST_P(BackendTest, AttentionRejectsBadGrouping) {
  attention_item item;
  EXPECT_THROW(be_->attention({&item, 1}, attention_shape{3, 2, 4, 1.0f}), std::invalid_argument);
}

TEST_P(BackendTest, NameAndThreads) {
  if (GetParam().kind == backend_kind::cpu) {
    EXPECT_EQ(be_->num_threads(), GetParam().threads);
    EXPECT_EQ(be_->name().rfind("cpu(", 0), 0u) << be_->name();
  } else {
    EXPECT_EQ(be_->num_threads(), 1);  // one host thread drives the device
    EXPECT_EQ(be_->name().rfind("cuda(", 0), 0u) << be_->name();
  }
}

// K/V recomputation (phase III) relies on this: a row projected alone equals the same row
// projected inside any batch, bit for bit, for every weight dtype.
TEST_P(BackendTest, LinearRowExactIsIndependentOfRowCount) {
  const int64_t in = 200, out = 72;
  for (dtype t : {dtype::f32, dtype::bf16, dtype::f16}) {
    const auto w_host = random_floats(static_cast<size_t>(in * out), 3);
    const auto b_host = random_floats(static_cast<size_t>(out), 4);
    const model::tensor_view wv{dtype::f32, {out, in}, w_host.data()};
    const model::tensor_view bv{dtype::f32, {out}, b_host.data()};
    const weight_matrix w = be_->upload_matrix(wv, bv, t);
    for (int n : {2, 5, 7, 13, 64, 130}) {
      const auto x_host = random_floats(static_cast<size_t>(n * in), 5 + n);
      float* x = to_backend(x_host);
      float* y = zeros(static_cast<size_t>(n * out));
      be_->linear_row_exact(x, n, w, y);
      const auto batched = to_host(y, static_cast<size_t>(n * out));
      float* y1 = zeros(static_cast<size_t>(out));
      for (int r = 0; r < n; ++r) {
        be_->linear_row_exact(x + r * in, 1, w, y1);
        const auto alone = to_host(y1, static_cast<size_t>(out));
        ASSERT_EQ(std::memcmp(alone.data(), batched.data() + r * out, out * sizeof(float)), 0)
            << "dtype " << to_string(t) << ", row " << r << " of " << n;
      }
      be_->release(x);
      be_->release(y);
      be_->release(y1);
    }
  }
}

// gather_kv returns the rows append_kv stored (exactly for fp32; converted for 16-bit types).
TEST_P(BackendTest, GatherKvReturnsSelectedRows) {
  const int dim = 24, n = 64;
  const auto rows = random_floats(static_cast<size_t>(n * dim), 9);
  const kv_rows_layout layout = kv_layout_for(kv_dtype::f32, dim, n);
  void* base = be_->allocate(layout.total());
  const kv_rows kv = carve_kv_rows(base, layout, kv_dtype::f32, dim);
  float* src = to_backend(rows);
  be_->append_kv(kv, 0, src, n);
  const std::vector<int32_t> picks = {0, 3, 17, 63};
  float* out = zeros(picks.size() * dim);
  be_->gather_kv(kv, picks.data(), static_cast<int>(picks.size()), false, out);
  const auto got = to_host(out, picks.size() * dim);
  for (size_t i = 0; i < picks.size(); ++i)
    EXPECT_EQ(std::memcmp(got.data() + i * dim, rows.data() + picks[i] * dim, dim * sizeof(float)), 0);
  be_->release(base);
  be_->release(src);
  be_->release(out);
}

INSTANTIATE_TEST_SUITE_P(Backends, BackendTest, testing::ValuesIn(test::built_backend_params()),
                         test::backend_param_name);

// --- CPU-only pieces ---------------------------------------------------------------------------

TEST(ThreadPool, ChunksCoverRangeOnGrainBoundaries) {
  for (int threads : {1, 2, 3, 5}) {
    cpu::thread_pool pool(threads);
    for (int64_t size : {1, 15, 16, 17, 100, 1000}) {
      std::vector<int> hits(static_cast<size_t>(size), 0);
      std::vector<int64_t> starts;
      std::mutex m;
      pool.parallel_for(3, 3 + size, [&](int64_t b, int64_t e, int t) {
        EXPECT_GE(t, 0);
        EXPECT_LT(t, threads);
        std::lock_guard lock(m);
        starts.push_back(b);
        for (int64_t i = b; i < e; ++i) ++hits[static_cast<size_t>(i - 3)];
      }, 16);
      EXPECT_TRUE(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }));
      for (int64_t s : starts) EXPECT_EQ((s - 3) % 16, 0);
    }
  }
}

TEST(ThreadPool, ManyBackToBackJobs) {
  cpu::thread_pool pool(2);
  std::atomic<int64_t> total{0};
  for (int i = 0; i < 20000; ++i) pool.run([&](int t, int count) { total += t + count; });
  EXPECT_EQ(total.load(), 20000 * (0 + 2 + 1 + 2));
}

// The packed linear kernel at every x-block shape (1..6 rows, merged remainders), x chunking
// (n > 36 with wide rows), the widened 16-bit path (n > 6) and a partial last panel.
TEST(CpuBackend, LinearPackedBlockingMatchesReference) {
  const int rows = 37, cols = 3001;
  const auto wsrc = random_floats(static_cast<size_t>(rows) * cols, 90);
  const auto bsrc = random_floats(rows, 91);
  const auto xall = random_floats(static_cast<size_t>(80) * cols, 92);
  cpu::cpu_backend be(2);
  auto* x = static_cast<float*>(be.allocate(xall.size() * sizeof(float)));
  be.upload(x, xall.data(), xall.size() * sizeof(float));
  auto* y = static_cast<float*>(be.allocate(static_cast<size_t>(80) * rows * sizeof(float)));
  auto* eye = static_cast<float*>(be.allocate(static_cast<size_t>(cols) * cols * sizeof(float)));
  for (int c = 0; c < cols; ++c) eye[static_cast<size_t>(c) * cols + c] = 1.0f;
  auto* wt = static_cast<float*>(be.allocate(static_cast<size_t>(cols) * rows * sizeof(float)));
  for (dtype type : {dtype::f32, dtype::bf16, dtype::f16}) {
    const auto w = be.upload_matrix(f32_view(wsrc, {rows, cols}), f32_view(bsrc, {rows}), type);
    be.linear(eye, cols, weight_matrix{type, rows, cols, w.data, nullptr}, wt);  // W^T, exact
    for (int n : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 32, 37, 80}) {
      be.linear(x, n, w, y);
      for (int m = 0; m < n; ++m)
        for (int r = 0; r < rows; ++r) {
          double s = bsrc[static_cast<size_t>(r)], a = std::abs(s);
          for (int c = 0; c < cols; ++c) {
            const double t = double{xall[static_cast<size_t>(m) * cols + c]} * wt[static_cast<size_t>(c) * rows + r];
            s += t;
            a += std::abs(t);
          }
          ASSERT_NEAR(y[static_cast<size_t>(m) * rows + r], s, 1e-5 * std::max(1.0, a))
              << to_string(type) << " n=" << n << " m=" << m << " r=" << r;
        }
    }
  }
}

// The portable fallback must agree with whatever target this machine dispatches to.
TEST(CpuBackend, ScalarFallbackMatchesDispatchedTarget) {
  const int rows = 37, cols = 50, n = 3;
  const auto wsrc = random_floats(rows * cols, 95);
  const auto xh = random_floats(n * cols, 96, -3, 3);
  auto run_ops = [&](dtype type) {
    cpu::cpu_backend be(2);
    const auto w = be.upload_matrix(f32_view(wsrc, {rows, cols}), {}, type);
    auto* x = static_cast<float*>(be.allocate(xh.size() * sizeof(float)));
    be.upload(x, xh.data(), xh.size() * sizeof(float));
    auto* y = static_cast<float*>(be.allocate(static_cast<size_t>(n) * std::max(rows, cols) * sizeof(float)));
    be.linear(x, n, w, y);
    std::vector<float> out(y, y + n * rows);
    be.rms_norm(x, n, cols, nullptr, 1e-5f, y);
    out.insert(out.end(), y, y + n * cols);
    be.silu_mul(x, x, n * cols, y);
    out.insert(out.end(), y, y + n * cols);
    // One item, 2 heads of 25 over 2 kv heads, the 3 rows of x as q, k and v.
    attention_item item;
    item.q = x;
    item.keys = item.values = f32_rows(x, cols);
    item.out = y;
    item.num_rows = n;
    be.attention({&item, 1}, attention_shape{2, 2, 25, 0.2f});
    out.insert(out.end(), y, y + n * cols);
    return out;
  };
  for (dtype type : {dtype::f32, dtype::bf16, dtype::f16}) {
    const auto dispatched = run_ops(type);
    hwy::SetSupportedTargetsForTest(HWY_SCALAR);
    EXPECT_EQ(cpu::simd_target_name(), "SCALAR");
    const auto scalar = run_ops(type);
    hwy::SetSupportedTargetsForTest(0);
    ASSERT_EQ(dispatched.size(), scalar.size());
    for (size_t i = 0; i < scalar.size(); ++i)
      ASSERT_NEAR(dispatched[i], scalar[i], 1e-4 * (1 + std::abs(scalar[i]))) << to_string(type) << " " << i;
  }
  EXPECT_NE(cpu::simd_target_name(), "SCALAR");
}

// Without the CUDA backend built, or without a usable device, asking for it is a clear error;
// auto then falls back to the CPU backend and says why.
TEST(CpuBackend, CudaKindWithoutADeviceThrowsAndAutoFallsBack) {
  std::unique_ptr<backend> cuda;
  std::string reason;
  try {
    cuda = make_backend(backend_kind::cuda, 1);
  } catch (const std::runtime_error& e) {
    reason = e.what();
  }
  std::string why;
  auto chosen = make_auto_backend(1, why);
  if (cuda) {
    EXPECT_EQ(chosen->name().rfind("cuda(", 0), 0u) << chosen->name();
    EXPECT_EQ(why, "auto: CUDA device usable");
    return;
  }
  EXPECT_FALSE(reason.empty());
  if (!cuda_backend_built()) {
    EXPECT_NE(reason.find("not built"), std::string::npos) << reason;
  }
  EXPECT_EQ(chosen->name().rfind("cpu(", 0), 0u) << chosen->name();
  EXPECT_NE(why.find(reason), std::string::npos) << why;
}

TEST(CpuBackend, BandwidthAndTargetName) {
  EXPECT_GT(cpu::measure_read_bandwidth_gbs(2, size_t{8} << 20, 2), 0.0);
  EXPECT_FALSE(cpu::simd_target_name().empty());
}

}  // namespace
}  // namespace alisa::gpu
