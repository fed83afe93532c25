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
