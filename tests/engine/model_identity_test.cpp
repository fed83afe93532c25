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

// --dtype auto is settled against the weights (a Q8_0 GGUF runs as q8_0), and the identity
// carries the settled type: a q8_0 worker and an fp32 coordinator are told apart.
TEST(ModelIdentity, DtypeAutoIsSettledAgainstTheWeights) {
  model::model_weights w;
  w.layers.resize(1);
  w.layers[0].wq.type = dtype::q8_0;
  engine_options o;
  o.weight_type_from_model = true;
  EXPECT_EQ(settled_weight_type(o, w), dtype::q8_0);
  w.layers[0].wq.type = dtype::bf16;
  EXPECT_EQ(settled_weight_type(o, w), dtype::f32) << "auto computes other models in fp32";
  o.weight_type_from_model = false;
  o.weight_type = dtype::f16;
  EXPECT_EQ(settled_weight_type(o, w), dtype::f16) << "an explicit --dtype is itself";

  engine_options stories;
  auto card = open_model_card(stories);
  ASSERT_TRUE(card.ok()) << card.status();
  EXPECT_EQ(card->weight_type, dtype::f32);
  card->weight_type = dtype::q8_0;
  auto diff = identity_difference(model_identity(*card, stories), identity_of(stories), "here", "there");
  ASSERT_TRUE(diff);
  EXPECT_EQ(*diff, "dtype is q8_0 here but fp32 there");
}

}  // namespace
}  // namespace alisa::engine
