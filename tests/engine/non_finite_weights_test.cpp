// Weights holding NaN: refused at load by tensor name (--check-weights, default for small files);
// with the check off, the forward pass's NaN logits fail the job with a message instead of
// sampling garbage or an empty text that looks like success.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "engine/local_engine.hpp"
#include "tests/support/shared_models.hpp"

namespace alisa::engine {
namespace {

namespace fs = std::filesystem;

// stories260K with every weight byte after the 7-int header set to 0xff (a NaN in every dtype).
fs::path poisoned_copy() {
  const fs::path path = fs::temp_directory_path() / ("alisa-nan-" + std::to_string(::getpid()) + ".bin");
  std::ifstream in(::alisa::testing::shared_model_path("stories260K/stories260K.bin"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (size_t i = 28; i < bytes.size(); ++i) bytes[i] = static_cast<char>(0xff);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

engine_options options_for(const fs::path& model) {
  engine_options o;
  o.model = model.string();
  o.tokenizer = ::alisa::testing::shared_model_path("stories260K/tok512.bin");
  return o;
}

TEST(NonFiniteWeights, AreRefusedAtLoadByTensorName) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  const fs::path model = poisoned_copy();
  auto engine = local_engine::open(options_for(model));
  fs::remove(model);
  ASSERT_FALSE(engine.ok());
  EXPECT_NE(engine.status().message().find("tensor token_embedding holds a non-finite value (nan at element 0"),
            std::string::npos) << engine.status();
}

TEST(NonFiniteWeights, UncheckedTheyFailTheJobNamingTheStep) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  const fs::path model = poisoned_copy();
  engine_options o = options_for(model);
  o.check_weights = model::load_options::weight_check::off;
  auto engine = local_engine::open(o);
  fs::remove(model);
  ASSERT_TRUE(engine.ok()) << engine.status();
  auto prompt = (*engine)->encode_prompt("Once upon a time");
  ASSERT_TRUE(prompt.ok());
  sampling_params params;
  params.max_tokens = 4;
  try {
    (*engine)->generate(*prompt, params);
    ADD_FAILURE() << "a job over NaN weights must fail";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("non-finite logits at position"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace alisa::engine
