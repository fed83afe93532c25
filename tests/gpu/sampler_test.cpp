// The sampler: greedy is argmax, the seed makes sampling reproducible, top-k/top-p restrict the
// candidates, and temperature sampling follows softmax(logits / T).
#include "gpu/sampler.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace alisa::gpu {
namespace {

std::vector<float> logits_of(std::vector<float> v) { return v; }

TEST(sampler, greedy_picks_the_largest_logit_and_the_lowest_id_on_ties) {
  sampling_params p;
  p.temperature = 0.0f;
  sampler s(p);
  EXPECT_EQ(s.sample(logits_of({0.1f, 3.0f, -1.0f, 2.9f})), 1);
  EXPECT_EQ(s.sample(logits_of({5.0f, 1.0f, 5.0f})), 0);
}

TEST(sampler, the_same_seed_gives_the_same_tokens) {
  sampling_params p;
  p.temperature = 1.0f;
  p.seed = 42;
  const std::vector<float> logits{0.5f, 0.4f, 0.3f, 0.2f, 0.1f, 0.0f};
  sampler a(p), b(p);
  std::vector<int> ta, tb;
  for (int i = 0; i < 50; ++i) {
    ta.push_back(a.sample(logits));
    tb.push_back(b.sample(logits));
  }
  EXPECT_EQ(ta, tb);
  p.seed = 43;
  sampler c(p);
  std::vector<int> tc;
  for (int i = 0; i < 50; ++i) tc.push_back(c.sample(logits));
  EXPECT_NE(ta, tc);
}

TEST(sampler, top_k_one_is_greedy) {
  sampling_params p;
  p.temperature = 5.0f;
  p.top_k = 1;
  sampler s(p);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(s.sample(logits_of({0.0f, 0.2f, 0.1f})), 1);
}

TEST(sampler, top_p_keeps_the_smallest_prefix_reaching_the_mass) {
  sampling_params p;
  p.temperature = 1.0f;
  p.top_p = 0.5f;
  sampler s(p);
  // p(0) ~ 0.67 >= 0.5, so only token 0 survives.
  const auto logits = logits_of({std::log(2.0f), 0.0f, -50.0f});
  for (int i = 0; i < 50; ++i) EXPECT_EQ(s.sample(logits), 0);
}

TEST(sampler, temperature_sampling_follows_the_softmax) {
  sampling_params p;
  p.temperature = 1.0f;
  p.seed = 7;
  sampler s(p);
  const auto logits = logits_of({std::log(3.0f), 0.0f});  // p = 0.75, 0.25
  std::map<int, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++counts[s.sample(logits)];
  EXPECT_NEAR(counts[0] / double(n), 0.75, 0.02);
}

TEST(sampling_params_validation, names_the_bad_field) {
  sampling_params p;
  p.temperature = -1.0f;
  ASSERT_TRUE(validate(p).has_value());
  EXPECT_NE(validate(p)->find("--temperature"), std::string::npos);
  p = {};
  p.top_p = 0.0f;
  EXPECT_NE(validate(p)->find("--top-p"), std::string::npos);
  p = {};
  p.top_k = -3;
  EXPECT_NE(validate(p)->find("--top-k"), std::string::npos);
  p = {};
  p.max_tokens = -1;
  EXPECT_NE(validate(p)->find("--max-tokens"), std::string::npos);
  p = {};
  EXPECT_FALSE(validate(p).has_value());
}

}  // namespace
}  // namespace alisa::gpu
