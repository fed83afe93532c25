// load_model dispatch, bad inputs end to end, and HF round trips through safetensors_writer.
#include "model/load_model.hpp"

#include <cstring>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tests/model/status_matchers.hpp"
#include "tests/support/reference_forward.hpp"
#include "tests/support/safetensors_writer.hpp"
#include "tests/support/shared_models.hpp"

namespace alisa::model {
namespace {

using alisa::testing::hf_fixture;
using alisa::testing::temp_dir;
using test::message_contains;

// Every tensor in the fixture must come back with the same shape and the same bytes.
void expect_bytes_equal(const tensor_view& loaded, const alisa::testing::st_tensor& written) {
  ASSERT_TRUE(loaded.present()) << written.name;
  EXPECT_EQ(loaded.shape, written.shape) << written.name;
  EXPECT_EQ(loaded.type, written.type) << written.name;
  const std::string bytes = alisa::testing::encode_tensor(written);
  ASSERT_EQ(loaded.num_bytes(), bytes.size()) << written.name;
  EXPECT_EQ(std::memcmp(loaded.data, bytes.data(), bytes.size()), 0) << written.name;
}

const alisa::testing::st_tensor& find(const hf_fixture& m, const std::string& name) {
  for (const auto& t : m.tensors) {
    if (t.name == name) return t;
  }
  throw std::runtime_error("fixture has no " + name);
}

bool logits_finite(const model_weights& w, const std::vector<int>& tokens) {
  for (const auto& row : alisa::testing::reference_forward(w, tokens)) {
    for (double v : row) {
      if (!std::isfinite(v)) return false;
    }
  }
  return true;
}

TEST(LoadModel, MissingPath) {
  auto w = load_model("/nonexistent/model/dir");
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(message_contains(w.status(), "model path not found: /nonexistent/model/dir"));
}

TEST(LoadModel, TruncatedLlama2cBin) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  temp_dir dir;
  std::ifstream in(alisa::testing::shared_model_path("stories260K/stories260K.bin"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  alisa::testing::write_file(dir.file("cut.bin"), bytes.substr(0, 100000));
  auto w = load_model(dir.file("cut.bin"));
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(message_contains(w.status(), "truncated: expected 1056540 bytes, file has 100000"));
}

TEST(LoadModel, TinyHeaderOnlyBin) {
  temp_dir dir;
  alisa::testing::write_file(dir.file("x.bin"), "abc");
  auto w = load_model(dir.file("x.bin"));
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(message_contains(w.status(), "truncated"));
}

TEST(LoadModel, LoneSafetensorsFileNeedsItsDirectory) {
  temp_dir dir;
  alisa::testing::write_safetensors(dir.file("model.safetensors"), {{"x", dtype::f32, {1}, {1.0f}}});
  auto w = load_model(dir.file("model.safetensors"));
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(message_contains(w.status(), "config.json"));
}

TEST(LoadModel, DirectoryWithoutConfig) {
  temp_dir dir;
  auto w = load_model(dir.path());
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(message_contains(w.status(), "no config.json"));
}

TEST(LoadModel, UnknownSyntheticPresetListsValidNames) {
  auto w = load_model("synthetic:gpt-5");
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(message_contains(w.status(), "unknown synthetic preset 'gpt-5'"));
  EXPECT_TRUE(message_contains(w.status(), "llama-2-7b"));
}

TEST(LoadModel, WrongTensorShapeIsReported) {
  temp_dir dir;
  hf_fixture m = alisa::testing::tiny_llama();
  for (auto& t : m.tensors) {
    if (t.name == "model.layers.1.self_attn.k_proj.weight") t.shape = {8, 64};  // same numel, wrong shape
  }
  alisa::testing::write_hf_dir(dir.path(), m);
  auto w = load_model(dir.path());
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(message_contains(w.status(), "tensor model.layers.1.self_attn.k_proj.weight has shape [8,64], expected [16,32]"));
}

TEST(LoadModel, MissingTensorIsReported) {
  temp_dir dir;
  hf_fixture m = alisa::testing::tiny_llama();
  std::erase_if(m.tensors, [](const auto& t) { return t.name == "model.layers.0.mlp.up_proj.weight"; });
  alisa::testing::write_hf_dir(dir.path(), m);
  auto w = load_model(dir.path());
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(message_contains(w.status(), "missing tensor model.layers.0.mlp.up_proj.weight"));
}

// A NaN or inf weight would turn every logit into NaN (empty or garbage text, exit 0): refused
// by name and element in every stored dtype, unless the check is turned off.
TEST(LoadModel, NonFiniteWeightsAreRefusedByTensorName) {
  for (dtype type : {dtype::f32, dtype::f16, dtype::bf16})
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::infinity()}) {
      temp_dir dir;
      alisa::testing::tiny_llama_options o;
      o.type = type;
      hf_fixture m = alisa::testing::tiny_llama(o);
      for (auto& t : m.tensors)
        if (t.name == "model.layers.1.self_attn.k_proj.weight") t.values[5] = bad;
      alisa::testing::write_hf_dir(dir.path(), m);
      auto w = load_model(dir.path());
      ASSERT_FALSE(w.ok()) << to_string(type);
      EXPECT_TRUE(message_contains(w.status(), std::string("tensor layers.1.wk holds a non-finite value (") +
                                                   (std::isnan(bad) ? "nan" : "-inf") + " at element 5"))
          << w.status();
      load_options unchecked;
      unchecked.check_weights = load_options::weight_check::off;
      EXPECT_TRUE(load_model(dir.path(), unchecked).ok());
    }
}

TEST(LoadModel, TinyLlamaRoundTrip) {
  temp_dir dir;
  alisa::testing::tiny_llama_options o;
  o.type = dtype::bf16;
  hf_fixture m = alisa::testing::tiny_llama(o);
  alisa::testing::write_hf_dir(dir.path(), m);
  auto w = load_model(dir.path());
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->config.num_kv_heads, 2);
  EXPECT_FALSE(w->config.tie_word_embeddings);
  EXPECT_FALSE(w->synthetic);
  expect_bytes_equal(w->token_embedding, find(m, "model.embed_tokens.weight"));
  expect_bytes_equal(w->lm_head, find(m, "lm_head.weight"));
  expect_bytes_equal(w->final_norm, find(m, "model.norm.weight"));
  for (int l = 0; l < 2; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const layer_weights& lw = w->layers[static_cast<size_t>(l)];
    expect_bytes_equal(lw.attn_norm, find(m, p + "input_layernorm.weight"));
    expect_bytes_equal(lw.wq, find(m, p + "self_attn.q_proj.weight"));
    expect_bytes_equal(lw.wk, find(m, p + "self_attn.k_proj.weight"));
    expect_bytes_equal(lw.wv, find(m, p + "self_attn.v_proj.weight"));
    expect_bytes_equal(lw.wo, find(m, p + "self_attn.o_proj.weight"));
    expect_bytes_equal(lw.ffn_norm, find(m, p + "post_attention_layernorm.weight"));
    expect_bytes_equal(lw.w_gate, find(m, p + "mlp.gate_proj.weight"));
    expect_bytes_equal(lw.w_up, find(m, p + "mlp.up_proj.weight"));
    expect_bytes_equal(lw.w_down, find(m, p + "mlp.down_proj.weight"));
  }
  EXPECT_TRUE(logits_finite(*w, {1, 5, 9}));
}

TEST(LoadModel, TinyLlamaWithoutModelPrefixAndTied) {
  temp_dir dir;
  alisa::testing::tiny_llama_options o;
  o.tied = true;
  o.attention_bias = true;
  hf_fixture m = alisa::testing::tiny_llama(o);
  for (auto& t : m.tensors) {
    if (t.name.starts_with("model.")) t.name = t.name.substr(6);
  }
  alisa::testing::write_hf_dir(dir.path(), m);
  auto w = load_model(dir.path());
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->lm_head.data, w->token_embedding.data);
  expect_bytes_equal(w->layers[1].bq, find(m, "layers.1.self_attn.q_proj.bias"));
  expect_bytes_equal(w->layers[1].bo, find(m, "layers.1.self_attn.o_proj.bias"));
}

TEST(LoadModel, TinyOptRoundTrip) {
  temp_dir dir;
  alisa::testing::tiny_opt_options o;
  o.type = dtype::f16;
  hf_fixture m = alisa::testing::tiny_opt(o);
  alisa::testing::write_hf_dir(dir.path(), m);
  auto w = load_model(dir.path());
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->config.arch, architecture::opt);
  EXPECT_EQ(w->lm_head.data, w->token_embedding.data);
  EXPECT_FALSE(w->project_in.present());
  const std::string d = "model.decoder.";
  expect_bytes_equal(w->token_embedding, find(m, d + "embed_tokens.weight"));
  expect_bytes_equal(w->position_embedding, find(m, d + "embed_positions.weight"));
  expect_bytes_equal(w->final_norm, find(m, d + "final_layer_norm.weight"));
  expect_bytes_equal(w->final_norm_bias, find(m, d + "final_layer_norm.bias"));
  for (int l = 0; l < 2; ++l) {
    const std::string p = d + "layers." + std::to_string(l) + ".";
    const layer_weights& lw = w->layers[static_cast<size_t>(l)];
    expect_bytes_equal(lw.wq, find(m, p + "self_attn.q_proj.weight"));
    expect_bytes_equal(lw.bq, find(m, p + "self_attn.q_proj.bias"));
    expect_bytes_equal(lw.wk, find(m, p + "self_attn.k_proj.weight"));
    expect_bytes_equal(lw.bk, find(m, p + "self_attn.k_proj.bias"));
    expect_bytes_equal(lw.wv, find(m, p + "self_attn.v_proj.weight"));
    expect_bytes_equal(lw.bv, find(m, p + "self_attn.v_proj.bias"));
    expect_bytes_equal(lw.wo, find(m, p + "self_attn.out_proj.weight"));
    expect_bytes_equal(lw.bo, find(m, p + "self_attn.out_proj.bias"));
    expect_bytes_equal(lw.attn_norm, find(m, p + "self_attn_layer_norm.weight"));
    expect_bytes_equal(lw.attn_norm_bias, find(m, p + "self_attn_layer_norm.bias"));
    expect_bytes_equal(lw.w_up, find(m, p + "fc1.weight"));
    expect_bytes_equal(lw.b_up, find(m, p + "fc1.bias"));
    expect_bytes_equal(lw.w_down, find(m, p + "fc2.weight"));
    expect_bytes_equal(lw.b_down, find(m, p + "fc2.bias"));
    expect_bytes_equal(lw.ffn_norm, find(m, p + "final_layer_norm.weight"));
    expect_bytes_equal(lw.ffn_norm_bias, find(m, p + "final_layer_norm.bias"));
  }
  EXPECT_TRUE(logits_finite(*w, {2, 7, 11, 3}));
}

TEST(LoadModel, TinyOptPostLnWithProjectionsAndUntiedHead) {
  temp_dir dir;
  alisa::testing::tiny_opt_options o;
  o.pre_ln = false;
  o.word_embed_proj_dim = 16;
  o.tied = false;
  hf_fixture m = alisa::testing::tiny_opt(o);
  alisa::testing::write_hf_dir(dir.path(), m);
  auto w = load_model(dir.path());
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_FALSE(w->final_norm.present());
  expect_bytes_equal(w->project_in, find(m, "model.decoder.project_in.weight"));
  expect_bytes_equal(w->project_out, find(m, "model.decoder.project_out.weight"));
  expect_bytes_equal(w->lm_head, find(m, "lm_head.weight"));
  EXPECT_EQ(w->token_embedding.shape, (std::vector<int64_t>{64, 16}));
  EXPECT_TRUE(logits_finite(*w, {2, 7, 11}));
}

TEST(LoadModel, ShardedDirectoryLoads) {
  temp_dir dir;
  hf_fixture m = alisa::testing::tiny_opt();
  alisa::testing::write_sharded_hf_dir(dir.path(), m, 3);
  auto w = load_model(dir.path());
  ASSERT_TRUE(w.ok()) << w.status();
  expect_bytes_equal(w->layers[1].w_down, find(m, "model.decoder.layers.1.fc2.weight"));
  // Sharded and single-file layouts give identical logits.
  temp_dir single;
  alisa::testing::write_hf_dir(single.path(), m);
  auto w1 = load_model(single.path());
  ASSERT_TRUE(w1.ok());
  EXPECT_EQ(alisa::testing::reference_forward(*w, {2, 4}), alisa::testing::reference_forward(*w1, {2, 4}));
}

}  // namespace
}  // namespace alisa::model
