// Model identity: the same model gives the same text on every open; another model, other
// weights of one shape, or another KV dtype differ, and the difference names the fields.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine/model_card.hpp"
#include "engine/model_identity.hpp"
#include "tests/support/stories_engine.hpp"

namespace alisa::engine {
namespace {

std::string identity_of(const engine_options& o) {
  auto card = open_model_card(o);
  EXPECT_TRUE(card.ok()) << card.status();
  return card.ok() ? model_identity(*card, o) : "";
}

TEST(ModelIdentity, TheSameModelAgreesAndOthersAreNamed) {
  engine_options stories;  // the built-in stories260K
  const std::string a = identity_of(stories);
  EXPECT_EQ(a, identity_of(stories));
  EXPECT_FALSE(identity_difference(a, a, "here", "there"));

  engine_options tiny;
  tiny.model = "synthetic:tiny";
  auto diff = identity_difference(identity_of(tiny), a, "here", "on the coordinator");
  ASSERT_TRUE(diff);
  EXPECT_NE(diff->find("num_layers is 2 here but 5 on the coordinator"), std::string::npos) << *diff;

  engine_options int8 = stories;
  int8.kv_type = kv_dtype::i8;
  diff = identity_difference(identity_of(int8), a, "here", "there");
  ASSERT_TRUE(diff);
  EXPECT_EQ(*diff, "kv_dtype is int8 here but fp32 there");
}

TEST(ModelIdentity, OtherWeightsOfTheSameShapeDiffer) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  // The bundled llama2.c checkpoint vs the same shape with synthetic weights is covered above;
  // here: one weight byte changed in a copy of the checkpoint.
  const std::string original = testing::shared_model_path("stories260K/stories260K.bin");
  const std::string copy = ::testing::TempDir() + "/stories260K-copy-" + std::to_string(::getpid()) + ".bin";
  std::filesystem::copy_file(original, copy, std::filesystem::copy_options::overwrite_existing);
  engine_options o;
  o.model = original;
  o.tokenizer = testing::shared_model_path("stories260K/tok512.bin");
  const std::string before = identity_of(o);
  {
    std::fstream f(copy, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(28 + 100);  // inside the token embedding, right after the 28-byte header
    f.put('\x7f');
  }
  o.model = copy;
  auto diff = identity_difference(identity_of(o), before, "here", "there");
  ASSERT_TRUE(diff);
  EXPECT_EQ(diff->rfind("weights is ", 0), 0u) << *diff;
  std::filesystem::remove(copy);
}

}  // namespace
}  // namespace alisa::engine
