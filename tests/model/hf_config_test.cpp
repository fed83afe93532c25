#include "model/hf_config.hpp"

#include <gtest/gtest.h>

#include "tests/model/status_matchers.hpp"
#include "tests/support/safetensors_writer.hpp"

namespace alisa::model {
namespace {

using test::message_contains;
using test::text_contains;

TEST(HfConfig, LlamaDefaults) {
  nlohmann::json j = alisa::testing::tiny_llama().config;
  j.erase("num_key_value_heads");
  j.erase("tie_word_embeddings");
  auto c = parse_hf_config(j.dump(), "config.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->num_kv_heads, c->num_heads);
  EXPECT_EQ(c->head_dim, 32 / 4);
  EXPECT_FALSE(c->tie_word_embeddings);
  EXPECT_EQ(c->rope, rope_layout::rotate_half);
  EXPECT_EQ(c->norm, norm_kind::rms_norm);
}

TEST(HfConfig, OptFields) {
  alisa::testing::tiny_opt_options o;
  o.word_embed_proj_dim = 16;
  o.pre_ln = false;
  auto c = parse_hf_config(alisa::testing::tiny_opt(o).config.dump(), "config.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->arch, architecture::opt);
  EXPECT_EQ(c->intermediate_size, 64);
  EXPECT_EQ(c->word_embed_proj_dim, 16);
  EXPECT_EQ(c->embed_dim(), 16);
  EXPECT_FALSE(c->do_layer_norm_before);
  EXPECT_TRUE(c->tie_word_embeddings);
  EXPECT_TRUE(c->attention_bias && c->mlp_bias);
  EXPECT_EQ(c->position_offset, 2);
  EXPECT_EQ(c->rope, rope_layout::none);
  EXPECT_EQ(c->activation, activation_kind::relu);
  EXPECT_FLOAT_EQ(c->norm_eps, 1e-5f);
}

TEST(HfConfig, MissingRequiredFieldIsNamed) {
  nlohmann::json j = alisa::testing::tiny_llama().config;
  j.erase("hidden_size");
  auto c = parse_hf_config(j.dump(), "dir/config.json");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(message_contains(c.status(), "dir/config.json: missing required field hidden_size"));
}

// Integers beyond a 32-bit int and floats beyond float's range are refused by name, not
// truncated (vocab_size 2^32 + 512 used to load as 512) or turned into inf.
TEST(HfConfig, OutOfRangeNumbersAreRefusedNotTruncated) {
  for (auto [field, value, needle] :
       {std::tuple{"vocab_size", nlohmann::json(uint64_t{4294967808}), "field vocab_size = 4294967808 is out of range"},
        {"hidden_size", nlohmann::json(int64_t{-3000000000}), "field hidden_size = -3000000000 is out of range"},
        {"rms_norm_eps", nlohmann::json(1e300), "field rms_norm_eps = 1e+300 is out of range for a float"}}) {
    nlohmann::json j = alisa::testing::tiny_llama().config;
    j[field] = value;
    auto c = parse_hf_config(j.dump(), "config.json");
    ASSERT_FALSE(c.ok()) << field;
    EXPECT_TRUE(message_contains(c.status(), needle)) << c.status();
  }
}

TEST(HfConfig, UnsupportedArchitectureIsNamed) {
  nlohmann::json j = alisa::testing::tiny_llama().config;
  j["architectures"] = {"GPT2LMHeadModel"};
  j["model_type"] = "gpt2";
  auto c = parse_hf_config(j.dump(), "config.json");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(message_contains(c.status(), "unsupported architecture GPT2LMHeadModel"));
}

TEST(HfConfig, RejectsRopeScalingAndOtherActivations) {
  nlohmann::json j = alisa::testing::tiny_llama().config;
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  auto c = parse_hf_config(j.dump(), "config.json");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(message_contains(c.status(), "rope_scaling"));
  nlohmann::json o = alisa::testing::tiny_opt().config;
  o["activation_function"] = "gelu";
  c = parse_hf_config(o.dump(), "config.json");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(message_contains(c.status(), "gelu"));
  EXPECT_FALSE(parse_hf_config("{not json", "config.json").ok());
}

TEST(HfConfig, MistralSlidingWindowIsRefusedUnlessDisabled) {
  nlohmann::json j = alisa::testing::tiny_llama().config;
  j["architectures"] = {"MistralForCausalLM"};
  j["model_type"] = "mistral";
  j["sliding_window"] = 16;
  EXPECT_TRUE(message_contains(parse_hf_config(j.dump(), "config.json").status(), "sliding_window 16"));
  j["sliding_window"] = nullptr;
  EXPECT_TRUE(parse_hf_config(j.dump(), "config.json").ok());
  j["architectures"] = {"Qwen2ForCausalLM"};
  j["model_type"] = "qwen2";
  j["sliding_window"] = 16;  // present but disabled by default for qwen2
  auto c = parse_hf_config(j.dump(), "config.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->attention_bias);  // the tiny config sets attention_bias=false explicitly
}

}  // namespace
}  // namespace alisa::model
