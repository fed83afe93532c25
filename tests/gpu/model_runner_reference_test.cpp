// The forward pass on the CPU backend against the naive double-precision reference
// (tests/support/reference_forward.hpp) on tiny seeded models written as Hugging Face directories
// and loaded through the real HF path: OPT (pre-/post-LN, project_in/out) and Llama (GQA,
// untied embeddings, attention biases), in fp32 and reduced-precision weights.
#include <gtest/gtest.h>

#include <cmath>

#include "gpu/model_runner.hpp"
#include "model/load_model.hpp"
#include "tests/support/backend_params.hpp"
#include "tests/support/reference_forward.hpp"
#include "tests/support/safetensors_writer.hpp"

namespace alisa::gpu {
namespace {

using alisa::testing::hf_fixture;

struct fixture_case {
  std::string name;
  hf_fixture model;
  dtype weight_type;
};

// Runs `tokens` as one prefill chunk plus, separately, split into a prefill and single-token
// decode steps, and checks every position's logits against the reference.
void expect_matches_reference(const fixture_case& fc, backend& be, double tol) {
  alisa::testing::temp_dir dir("alisa-runner-ref");
  alisa::testing::write_hf_dir(dir.path(), fc.model);
  auto weights = model::load_model(dir.path());
  ASSERT_TRUE(weights.ok()) << weights.status();
  const int vocab = weights->config.vocab_size;
  std::vector<int> tokens;
  for (int i = 0; i < 12; ++i) tokens.push_back((i * 7 + 3) % vocab);
  const auto want = alisa::testing::reference_forward(*weights, tokens);

  model_runner runner(be, *weights, runner_options{fc.weight_type});
  std::vector<int32_t> ids(tokens.begin(), tokens.end());
  auto check_row = [&](const float* got, int pos) {
    for (int v = 0; v < vocab; ++v) {
      const double ref = want[pos][v];
      ASSERT_NEAR(got[v], ref, tol * std::max(1.0, std::abs(ref)))
          << fc.name << " position " << pos << " token " << v;
    }
  };
  // One prefill chunk with every row's logits.
  auto cache = runner.make_cache();
  std::vector<float> logits;
  const forward_request all{cache.get(), ids, true};
  runner.forward({&all, 1}, logits);
  for (size_t pos = 0; pos < ids.size(); ++pos) check_row(logits.data() + pos * vocab, pos);
  // Prefill of 5 tokens, then decode steps one token at a time.
  auto stepwise = runner.make_cache();
  const forward_request head{stepwise.get(), {ids.data(), 5}, false};
  runner.forward({&head, 1}, logits);
  check_row(logits.data(), 4);
  for (size_t pos = 5; pos < ids.size(); ++pos) {
    const forward_request step{stepwise.get(), {&ids[pos], 1}, false};
    runner.forward({&step, 1}, logits);
    check_row(logits.data(), static_cast<int>(pos));
  }
}

std::vector<fixture_case> cases() {
  using alisa::testing::tiny_llama;
  using alisa::testing::tiny_opt;
  std::vector<fixture_case> out;
  out.push_back({"llama_gqa_untied", tiny_llama({}), dtype::f32});
  alisa::testing::tiny_llama_options biased;
  biased.attention_bias = true;
  biased.tied = true;
  out.push_back({"llama_tied_attention_bias", tiny_llama(biased), dtype::f32});
  alisa::testing::tiny_llama_options mha;
  mha.kv_heads = 4;
  mha.type = dtype::bf16;
  out.push_back({"llama_mha_bf16_file", tiny_llama(mha), dtype::bf16});
  out.push_back({"opt_pre_ln", tiny_opt({}), dtype::f32});
  alisa::testing::tiny_opt_options post;
  post.pre_ln = false;
  out.push_back({"opt_post_ln", tiny_opt(post), dtype::f32});
  alisa::testing::tiny_opt_options projected;
  projected.word_embed_proj_dim = 16;
  projected.tied = false;
  out.push_back({"opt_project_in_out_untied", tiny_opt(projected), dtype::f32});
  alisa::testing::tiny_opt_options half;
  half.type = dtype::f16;
  out.push_back({"opt_fp16_file", tiny_opt(half), dtype::f16});
  return out;
}

class runner_vs_reference : public ::testing::TestWithParam<fixture_case> {};

TEST_P(runner_vs_reference, logits_match_the_double_precision_reference) {
  for (int threads : {1, 2}) {
    auto be = make_backend(backend_kind::cpu, threads);
    expect_matches_reference(GetParam(), *be, 1e-4);
  }
}

// The same forward pass on the GPU: fp32 within 1e-4, 16-bit weights within 1e-2 (the GEMM
// inputs are rounded to the weight dtype there).
TEST_P(runner_vs_reference, logits_match_the_reference_on_cuda) {
  std::unique_ptr<backend> be;
  ALISA_MAKE_BACKEND_OR_SKIP(be, (test::backend_param{backend_kind::cuda, 1}));
  expect_matches_reference(GetParam(), *be, GetParam().weight_type == dtype::f32 ? 1e-4 : 1e-2);
}

INSTANTIATE_TEST_SUITE_P(tiny_models, runner_vs_reference, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace alisa::gpu

namespace alisa::gpu {
namespace {

// Contract violations are refused before anything is written to a cache.
TEST(model_runner_contract, refuses_bad_requests_with_a_message) {
  auto weights = model::load_model("synthetic:tiny");
  ASSERT_TRUE(weights.ok()) << weights.status();
  auto be = make_backend(backend_kind::cpu, 1);
  model_runner runner(*be, *weights, runner_options{});
  auto cache = runner.make_cache(4);
  std::vector<float> logits;
  const std::vector<int32_t> ok{1, 5}, too_long{1, 2, 3, 4, 5}, bad_id{1, 100000};
  const forward_request shared[2] = {{cache.get(), ok, false}, {cache.get(), ok, false}};
  EXPECT_THROW(runner.forward(shared, logits), std::invalid_argument);
  const forward_request overflow{cache.get(), too_long, false};
  EXPECT_THROW(runner.forward({&overflow, 1}, logits), std::invalid_argument);
  const forward_request outside{cache.get(), bad_id, false};
  EXPECT_THROW(runner.forward({&outside, 1}, logits), std::invalid_argument);
  EXPECT_EQ(cache->length(), 0);
  const forward_request good{cache.get(), ok, false};
  runner.forward({&good, 1}, logits);
  EXPECT_EQ(cache->length(), 2);
  EXPECT_EQ(logits.size(), static_cast<size_t>(weights->config.vocab_size));
}

}  // namespace
}  // namespace alisa::gpu
