// The whole forward pass on the CUDA backend against the CPU backend on real pretrained weights
// (stories260K from ../shared/models): the greedy continuation must be the same tokens, from a
// dense cache and with fp32 or bf16 weights. Skipped, with the reason, when no GPU is usable;
// under CI=true the model itself must be present.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/local_engine.hpp"
#include "tests/support/backend_params.hpp"
#include "tests/support/shared_models.hpp"

namespace alisa::engine {
namespace {

struct greedy_run {
  std::vector<int> tokens;
  std::string text;
};

// The greedy continuation through the step loop on an engine of that backend and weight dtype.
greedy_run run_greedy(gpu::backend_kind backend, dtype type, const std::string& prompt) {
  engine_options o;
  o.model = testing::shared_model_path("stories260K/stories260K.bin");
  o.tokenizer = testing::shared_model_path("stories260K/tok512.bin");
  o.backend = backend;
  o.num_threads = 2;
  o.weight_type = type;
  auto engine = local_engine::open(o);
  EXPECT_TRUE(engine.ok()) << engine.status();
  if (!engine.ok()) return {};
  sampling_params params;
  params.max_tokens = 64;
  params.ignore_eos = true;
  const generation_result r = (*engine)->generate(*(*engine)->encode_prompt(prompt), params);
  return {r.token_ids, r.text};
}

TEST(CudaBackend, Stories260kGreedyOutputMatchesTheCpuBackend) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  std::unique_ptr<gpu::backend> device;
  ALISA_MAKE_BACKEND_OR_SKIP(device, (test::backend_param{gpu::backend_kind::cuda, 1}));
  device.reset();  // the engines open their own
  for (dtype type : {dtype::f32, dtype::bf16}) {
    for (const std::string prompt : {"Once upon a time", "Lily and Ben went to the park"}) {
      const greedy_run want = run_greedy(gpu::backend_kind::cpu, type, prompt);
      const greedy_run got = run_greedy(gpu::backend_kind::cuda, type, prompt);
      EXPECT_EQ(got.tokens, want.tokens) << to_string(type) << " '" << prompt << "'";
      EXPECT_EQ(got.text, want.text) << to_string(type) << " '" << prompt << "'";
    }
  }
}

}  // namespace
}  // namespace alisa::engine
