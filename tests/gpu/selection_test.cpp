// Token selection: the host reference (top_k_indices, pick_token) is the original sampler's
// algorithm fed an explicit draw, and every backend's top_k / sample_token give its answers.
#include "gpu/selection_reference.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "gpu/backend.hpp"
#include "gpu/sampler.hpp"

namespace alisa::gpu {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// The sampler as it was before selection moved into pick_token (verbatim arithmetic, including
// std::uniform_real_distribution(0, kept_total)), to pin that refactoring changed no token.
class original_sampler {
 public:
  explicit original_sampler(const sampling_params& p) : params_(p), rng_(p.seed) {}
  int sample(std::span<const float> logits) {
    if (params_.temperature == 0.0f) return argmax(logits);
    const int vocab = static_cast<int>(logits.size());
    std::vector<int> order(vocab);
    std::iota(order.begin(), order.end(), 0);
    const int keep = params_.top_k > 0 ? std::min(params_.top_k, vocab) : vocab;
    auto by_logit = [&](int a, int b) {
      return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    };
    std::partial_sort(order.begin(), order.begin() + keep, order.end(), by_logit);
    order.resize(keep);
    std::vector<double> probs(keep);
    const double max_logit = logits[order[0]];
    double total = 0.0;
    for (int i = 0; i < keep; ++i) {
      probs[i] = std::exp((logits[order[i]] - max_logit) / params_.temperature);
      total += probs[i];
    }
    int cut = keep;
    if (params_.top_p < 1.0f) {
      double mass = 0.0;
      for (int i = 0; i < keep; ++i) {
        mass += probs[i] / total;
        if (mass >= params_.top_p) {
          cut = i + 1;
          break;
        }
      }
    }
    const double kept_total = std::accumulate(probs.begin(), probs.begin() + cut, 0.0);
    const double r = std::uniform_real_distribution<double>(0.0, kept_total)(rng_);
    double acc = 0.0;
    for (int i = 0; i < cut; ++i) {
      acc += probs[i];
      if (r < acc) return order[i];
    }
    return order[cut - 1];
  }

 private:
  sampling_params params_;
  std::mt19937_64 rng_;
};

// Random logits with deliberate ties (values rounded to a coarse grid).
std::vector<float> random_logits(int n, uint64_t seed, float scale, bool coarse) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) {
    x = normal(rng);
    if (coarse) x = std::round(x * 4.0f) / 4.0f;
  }
  return v;
}

// Brute force: stable sort of all indices by value descending, first k, ascending.
std::vector<int32_t> brute_top_k(const std::vector<float>& s, int k) {
  std::vector<int32_t> order(s.size());
  std::iota(order.begin(), order.end(), 0);
  auto key = [&](int32_t i) { return std::isnan(s[i]) ? -kInf : s[i]; };
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return key(a) > key(b); });
  order.resize(static_cast<size_t>(k));
  std::sort(order.begin(), order.end());
  return order;
}

sampling_params params_of(float temperature, int top_k, float top_p, uint64_t seed = 0) {
  sampling_params p;
  p.temperature = temperature;
  p.top_k = top_k;
  p.top_p = top_p;
  p.seed = seed;
  return p;
}

// --- top_k_indices -------------------------------------------------------------------------------

TEST(SelectionReference, top_k_returns_the_largest_in_ascending_index_order) {
  const std::vector<float> s{0.5f, 3.0f, -1.0f, 2.5f, 2.0f};
  EXPECT_EQ(top_k_indices(s, 1), (std::vector<int32_t>{1}));
  EXPECT_EQ(top_k_indices(s, 2), (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(top_k_indices(s, 3), (std::vector<int32_t>{1, 3, 4}));
  EXPECT_EQ(top_k_indices(s, 5), (std::vector<int32_t>{0, 1, 2, 3, 4}));
}

TEST(SelectionReference, top_k_ties_go_to_the_lower_index) {
  const std::vector<float> s{1.0f, 2.0f, 1.0f, 2.0f, 1.0f};
  EXPECT_EQ(top_k_indices(s, 1), (std::vector<int32_t>{1}));
  EXPECT_EQ(top_k_indices(s, 3), (std::vector<int32_t>{0, 1, 3}));
  EXPECT_EQ(top_k_indices(s, 4), (std::vector<int32_t>{0, 1, 2, 3}));
  const std::vector<float> zeros{0.0f, -0.0f, 0.0f};  // -0 equals +0
  EXPECT_EQ(top_k_indices(zeros, 1), (std::vector<int32_t>{0}));
  EXPECT_EQ(top_k_indices(zeros, 2), (std::vector<int32_t>{0, 1}));
}

TEST(SelectionReference, top_k_ranks_nan_as_minus_infinity) {
  const std::vector<float> s{kNaN, 1.0f, -kInf, kNaN, -5.0f};
  EXPECT_EQ(top_k_indices(s, 2), (std::vector<int32_t>{1, 4}));
  EXPECT_EQ(top_k_indices(s, 3), (std::vector<int32_t>{0, 1, 4}));  // NaN(0) ties -inf(2)
  EXPECT_EQ(top_k_indices(s, 4), (std::vector<int32_t>{0, 1, 2, 4}));
}

TEST(SelectionReference, top_k_matches_a_stable_sort) {
  for (int n : {1, 2, 17, 300}) {
    const auto s = random_logits(n, 100 + n, 2.0f, true);
    for (int k : {1, 2, n / 2, n}) {
      if (k < 1 || k > n) continue;
      EXPECT_EQ(top_k_indices(s, k), brute_top_k(s, k)) << "n=" << n << " k=" << k;
    }
  }
}

TEST(SelectionReference, top_k_rejects_k_outside_one_to_count) {
  const std::vector<float> s{1.0f, 2.0f, 3.0f};
  EXPECT_THROW(top_k_indices(s, 0), std::invalid_argument);
  EXPECT_THROW(top_k_indices(s, -1), std::invalid_argument);
  EXPECT_THROW(top_k_indices(s, 4), std::invalid_argument);
  EXPECT_THROW(top_k_indices(std::span<const float>{}, 1), std::invalid_argument);
  try {
    top_k_indices(s, 4);
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("got 4"), std::string::npos) << e.what();
  }
}

// --- pick_token ----------------------------------------------------------------------------------

TEST(SelectionReference, greedy_is_the_first_maximum_and_ignores_the_draw) {
  const auto p = params_of(0.0f, 0, 1.0f);
  const std::vector<float> a{0.1f, 3.0f, -1.0f, 2.9f};
  const std::vector<float> b{5.0f, 1.0f, 5.0f};
  for (double u : {0.0, 0.5, 0.999}) {
    EXPECT_EQ(pick_token(a, p, u), 1);
    EXPECT_EQ(pick_token(b, p, u), 0);
  }
  EXPECT_EQ(pick_token(std::vector<float>{kNaN, 1.0f, kNaN, 1.0f}, p, 0.0), 1);
  EXPECT_EQ(pick_token(std::vector<float>{kNaN, kNaN}, p, 0.0), 0);
  EXPECT_EQ(pick_token(std::vector<float>{-kInf, kNaN, -kInf}, p, 0.0), 0);
  EXPECT_THROW(pick_token(std::span<const float>{}, p, 0.0), std::invalid_argument);
}

TEST(SelectionReference, the_draw_walks_the_ranked_candidates) {
  // Ranked: id 2 (p=0.5), id 0 (0.25), id 1 (0.25).
  const std::vector<float> logits{0.0f, 0.0f, std::log(2.0f)};
  const auto p = params_of(1.0f, 0, 1.0f);
  EXPECT_EQ(pick_token(logits, p, 0.0), 2);
  EXPECT_EQ(pick_token(logits, p, 0.49), 2);
  EXPECT_EQ(pick_token(logits, p, 0.51), 0);
  EXPECT_EQ(pick_token(logits, p, 0.74), 0);
  EXPECT_EQ(pick_token(logits, p, 0.76), 1);
  EXPECT_EQ(pick_token(logits, p, std::nextafter(1.0, 0.0)), 1);
  // top_k 2 keeps ids 2 and 0 (tie with 1 -> lower id); top_p 0.5 keeps only id 2.
  EXPECT_EQ(pick_token(logits, params_of(1.0f, 2, 1.0f), std::nextafter(1.0, 0.0)), 0);
  EXPECT_EQ(pick_token(logits, params_of(1.0f, 0, 0.5f), std::nextafter(1.0, 0.0)), 2);
  EXPECT_EQ(pick_token(logits, params_of(1.0f, 1, 1.0f), 0.9), 2);
}

TEST(SelectionReference, non_finite_logits_give_an_in_range_token) {
  const std::vector<float> with_nan{kNaN, 1.0f, 2.0f, kNaN};
  for (double u : {0.0, 0.3, 0.99}) {
    const int t = pick_token(with_nan, params_of(1.0f, 0, 1.0f), u);
    EXPECT_TRUE(t == 1 || t == 2) << t;  // NaN has probability exp(-inf) = 0
  }
  const std::vector<float> all_nan{kNaN, kNaN, kNaN};
  const int t = pick_token(all_nan, params_of(1.0f, 0, 0.9f), 0.5);
  EXPECT_GE(t, 0);
  EXPECT_LT(t, 3);
}

TEST(SelectionReference, sampler_gives_the_tokens_of_the_original_sampler) {
  const std::vector<std::vector<float>> rows{random_logits(100, 1, 2.0f, false),
                                             random_logits(100, 2, 1.0f, true),
                                             random_logits(7, 3, 0.5f, false)};
  for (float temperature : {0.0f, 0.3f, 1.0f, 2.5f})
    for (int top_k : {0, 1, 5, 40})
      for (float top_p : {1.0f, 0.9f, 0.5f})
        for (uint64_t seed : {0ull, 42ull, 12345ull}) {
          const auto p = params_of(temperature, top_k, top_p, seed);
          sampler now(p);
          original_sampler before(p);
          for (int step = 0; step < 40; ++step) {
            const auto& row = rows[static_cast<size_t>(step) % rows.size()];
            ASSERT_EQ(now.sample(row), before.sample(row))
                << "T=" << temperature << " top_k=" << top_k << " top_p=" << top_p
                << " seed=" << seed << " step=" << step;
          }
        }
}

TEST(SelectionReference, sampler_is_pick_token_with_canonical_draws) {
  const auto row = random_logits(500, 9, 3.0f, true);
  for (float temperature : {0.0f, 0.7f, 1.5f}) {
    const auto p = params_of(temperature, 50, 0.95f, 77);
    sampler s(p);
    std::mt19937_64 rng(p.seed);
    for (int step = 0; step < 100; ++step) {
      // Greedy consumes no draw.
      const double u = temperature == 0.0f ? 0.0 : std::generate_canonical<double, 53>(rng);
      ASSERT_EQ(s.sample(row), pick_token(row, p, u)) << "T=" << temperature << " step=" << step;
    }
  }
}

TEST(SelectionReference, next_draw_is_the_draw_sample_would_use) {
  const auto row = random_logits(64, 5, 2.0f, false);
  const auto p = params_of(1.0f, 0, 1.0f, 3);
  sampler a(p), b(p);
  for (int step = 0; step < 50; ++step) ASSERT_EQ(a.sample(row), pick_token(row, p, b.next_draw()));
}

// --- backends ------------------------------------------------------------------------------------

std::string kind_name(backend_kind k) { return k == backend_kind::cpu ? "cpu" : "cuda"; }

class SelectionBackend : public ::testing::TestWithParam<backend_kind> {
 protected:
  void SetUp() override {
    try {
      backend_ = make_backend(GetParam(), 1);
    } catch (const std::runtime_error& e) {
      GTEST_SKIP() << kind_name(GetParam()) << " backend not available: " << e.what();
    }
  }
  void TearDown() override {
    if (backend_)
      for (void* p : buffers_) backend_->release(p);
  }
  const float* upload(const std::vector<float>& v) {
    void* p = backend_->allocate(v.size() * sizeof(float));
    buffers_.push_back(p);
    backend_->upload(p, v.data(), v.size() * sizeof(float));
    return static_cast<const float*>(p);
  }

  std::unique_ptr<backend> backend_;
  std::vector<void*> buffers_;
};

// Values with ties, +-0, NaN and infinities sprinkled in.
std::vector<float> awkward_scores(int n, uint64_t seed) {
  auto v = random_logits(n, seed, 3.0f, true);
  std::mt19937_64 rng(seed * 31 + 7);
  for (int i = 0; i < n / 50; ++i) {
    const size_t at = rng() % static_cast<size_t>(n);
    switch (rng() % 4) {
      case 0: v[at] = kNaN; break;
      case 1: v[at] = -0.0f; break;
      case 2: v[at] = -kInf; break;
      default: v[at] = 0.0f; break;
    }
  }
  return v;
}

TEST_P(SelectionBackend, top_k_equals_the_host_reference) {
  for (int count : {1, 7, 1000, 50000}) {
    const auto scores = awkward_scores(count, static_cast<uint64_t>(count));
    const float* dev = upload(scores);
    for (int k : {1, 2, 10, count / 3, count - 1, count}) {
      if (k < 1 || k > count) continue;
      std::vector<int32_t> got(static_cast<size_t>(k), -1);
      backend_->top_k(dev, count, k, got.data());
      ASSERT_EQ(got, top_k_indices(scores, k)) << "count=" << count << " k=" << k;
    }
  }
}

TEST_P(SelectionBackend, top_k_rejects_bad_k) {
  const std::vector<float> scores{1.0f, 2.0f, 3.0f};
  const float* dev = upload(scores);
  std::vector<int32_t> out(4);
  EXPECT_THROW(backend_->top_k(dev, 3, 0, out.data()), std::invalid_argument);
  EXPECT_THROW(backend_->top_k(dev, 3, 4, out.data()), std::invalid_argument);
}

TEST_P(SelectionBackend, sample_token_equals_the_host_reference) {
  const std::vector<std::vector<float>> rows{random_logits(32000, 11, 3.0f, false),
                                             random_logits(32000, 12, 2.0f, true),
                                             awkward_scores(4096, 13), random_logits(5, 14, 1.0f, true),
                                             std::vector<float>{2.0f}};
  std::mt19937_64 rng(2024);
  for (const auto& row : rows) {
    const float* dev = upload(row);
    const int vocab = static_cast<int>(row.size());
    for (float temperature : {0.0f, 0.5f, 1.0f, 3.0f})
      for (int top_k : {0, 1, 2, 40, 50000})
        for (float top_p : {1.0f, 0.9f, 0.3f}) {
          const auto p = params_of(temperature, top_k, top_p);
          std::vector<double> draws{0.0, 0.25, 0.5, 0.999, std::nextafter(1.0, 0.0)};
          for (int i = 0; i < 4; ++i) draws.push_back(std::generate_canonical<double, 53>(rng));
          for (double u : draws)
            ASSERT_EQ(backend_->sample_token(dev, vocab, p, u), pick_token(row, p, u))
                << "vocab=" << vocab << " T=" << temperature << " top_k=" << top_k
                << " top_p=" << top_p << " u=" << u;
        }
  }
}

TEST_P(SelectionBackend, sample_token_follows_a_sampler_run) {
  const auto row = random_logits(1000, 21, 2.0f, false);
  const float* dev = upload(row);
  const auto p = params_of(0.8f, 100, 0.95f, 5);
  sampler s(p), draws(p);
  for (int step = 0; step < 50; ++step)
    ASSERT_EQ(backend_->sample_token(dev, 1000, p, draws.next_draw()), s.sample(row));
}

INSTANTIATE_TEST_SUITE_P(Kinds, SelectionBackend,
                         ::testing::Values(backend_kind::cpu, backend_kind::cuda),
                         [](const ::testing::TestParamInfo<backend_kind>& info) {
                           return kind_name(info.param);
                         });

}  // namespace
}  // namespace alisa::gpu
