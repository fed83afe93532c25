// The whole forward pass on the CUDA backend against the CPU backend on real pretrained weights
// (stories260K from ../shared/models): the greedy continuation must be the same tokens, from a
// dense cache and with fp32 or bf16 weights. Skipped, with the reason, when no GPU is usable;
// under CI=true the model itself must be present.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "gpu/generate.hpp"
#include "model/load_model.hpp"
#include "model/tokenizer.hpp"
#include "tests/support/backend_params.hpp"
#include "tests/support/shared_models.hpp"

namespace alisa::gpu {
namespace {

struct greedy_run {
  std::vector<int> tokens;
  std::string text;
};

greedy_run run_greedy(backend& be, const model::model_weights& weights,
                      const model::tokenizer& tok, dtype type, const std::string& prompt) {
  model_runner runner(be, weights, runner_options{type});
  const std::vector<int> ids = tok.encode(prompt, /*add_bos=*/true);
  sampling_params params;
  params.max_tokens = 64;
  params.ignore_eos = true;
  const generation_result r = generate(runner, tok, ids, params);
  return {r.token_ids, r.text};
}

TEST(CudaBackend, Stories260kGreedyOutputMatchesTheCpuBackend) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  std::unique_ptr<backend> gpu;
  ALISA_MAKE_BACKEND_OR_SKIP(gpu, (test::backend_param{backend_kind::cuda, 1}));
  const std::string path = testing::shared_model_path("stories260K/stories260K.bin");
  auto weights = model::load_model(path);
  ASSERT_TRUE(weights.ok()) << weights.status();
  auto tok = model::load_tokenizer(testing::shared_model_path("stories260K/tok512.bin"),
                                   weights->config.vocab_size);
  ASSERT_TRUE(tok.ok()) << tok.status();
  auto cpu = make_backend(backend_kind::cpu, 2);
  for (dtype type : {dtype::f32, dtype::bf16}) {
    for (const std::string prompt : {"Once upon a time", "Lily and Ben went to the park"}) {
      const greedy_run want = run_greedy(*cpu, *weights, **tok, type, prompt);
      const greedy_run got = run_greedy(*gpu, *weights, **tok, type, prompt);
      EXPECT_EQ(got.tokens, want.tokens) << to_string(type) << " '" << prompt << "'";
      EXPECT_EQ(got.text, want.text) << to_string(type) << " '" << prompt << "'";
    }
  }
}

}  // namespace
}  // namespace alisa::gpu
