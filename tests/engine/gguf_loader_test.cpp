// gguf_loader: stories260K converted to GGUF (by tests/support/gguf_writer.hpp, as llama.cpp's
// converter lays it out) loads into the same weights as the llama2.c checkpoint: F32 gives the
// same greedy tokens exactly; Q8_0 dequantises within its rounding bound; missing tensors,
// wrong shapes and other architectures are one-line errors.
#include "model/gguf_loader.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include "model/load_model.hpp"
#include "model/tokenizer_formats.hpp"
#include "tests/support/gguf_writer.hpp"
#include "tests/support/shared_models.hpp"
#include "tests/support/stories_engine.hpp"

namespace alisa::model {
namespace {

namespace fs = std::filesystem;
using testing::gguf_writer;

std::string bytes_of(const tensor_view& t) {
  return std::string(static_cast<const char*>(t.data), t.num_bytes());
}

// GGUF dims of one of our [out, in] shapes.
std::vector<uint64_t> dims_of(const tensor_view& t) { return {t.shape.rbegin(), t.shape.rend()}; }

constexpr uint32_t kF32 = 0, kQ4_0 = 2, kQ8_0 = 8;  // GGUF tensor types

// The llama2.c weights as a GGUF: F32 tensors, or the 2-D ones as `matrix_type` (Q8_0 / Q4_0).
gguf_writer to_gguf(const model_weights& w, uint32_t matrix_type, bool with_output = false) {
  const model_config& c = w.config;
  gguf_writer g;
  g.set_string("general.architecture", "llama");
  g.set_u32("llama.embedding_length", static_cast<uint32_t>(c.hidden_size));
  g.set_u32("llama.block_count", static_cast<uint32_t>(c.num_layers));
  g.set_u32("llama.feed_forward_length", static_cast<uint32_t>(c.intermediate_size));
  g.set_u32("llama.attention.head_count", static_cast<uint32_t>(c.num_heads));
  g.set_u32("llama.attention.head_count_kv", static_cast<uint32_t>(c.num_kv_heads));
  g.set_u32("llama.context_length", static_cast<uint32_t>(c.max_position_embeddings));
  g.set_u32("llama.rope.dimension_count", static_cast<uint32_t>(c.head_dim));
  g.set_f32("llama.attention.layer_norm_rms_epsilon", c.norm_eps);
  g.set_f32("llama.rope.freq_base", c.rope_theta);
  g.set_u32("tokenizer.ggml.bos_token_id", 1);
  g.set_u32("tokenizer.ggml.eos_token_id", 2);
  auto add = [&](const std::string& name, const tensor_view& t) {
    const auto* x = static_cast<const float*>(t.data);
    if (matrix_type == kQ8_0 && t.shape.size() == 2 && t.cols() % 32 == 0)
      g.add_tensor(name, dims_of(t), kQ8_0, gguf_writer::q8_0(x, t.num_elements(), float_to_f16));
    else if (matrix_type == kQ4_0 && t.shape.size() == 2 && t.cols() % 32 == 0)
      g.add_tensor(name, dims_of(t), kQ4_0, gguf_writer::q4_0(x, t.num_elements(), float_to_f16));
    else
      g.add_tensor(name, dims_of(t), 0, bytes_of(t));
  };
  add("token_embd.weight", w.token_embedding);
  add("output_norm.weight", w.final_norm);
  if (with_output) add("output.weight", w.lm_head);
  for (size_t i = 0; i < w.layers.size(); ++i) {
    const layer_weights& l = w.layers[i];
    const std::string p = "blk." + std::to_string(i) + ".";
    add(p + "attn_norm.weight", l.attn_norm);
    add(p + "attn_q.weight", l.wq);
    add(p + "attn_k.weight", l.wk);
    add(p + "attn_v.weight", l.wv);
    add(p + "attn_output.weight", l.wo);
    add(p + "ffn_norm.weight", l.ffn_norm);
    add(p + "ffn_gate.weight", l.w_gate);
    add(p + "ffn_up.weight", l.w_up);
    add(p + "ffn_down.weight", l.w_down);
  }
  return g;
}

// tok512.bin's pieces and scores (llama2.c format) as a GGUF "llama" vocabulary ("\u2581" for
// spaces, as SentencePiece stores them).
void add_tokenizer(gguf_writer& g) {
  std::ifstream in(testing::shared_model_path("stories260K/tok512.bin"), std::ios::binary);
  int32_t max_len = 0;
  in.read(reinterpret_cast<char*>(&max_len), 4);
  std::vector<std::string> tokens;
  std::vector<float> scores;
  float score = 0;
  int32_t len = 0;
  while (in.read(reinterpret_cast<char*>(&score), 4) && in.read(reinterpret_cast<char*>(&len), 4)) {
    std::string piece(static_cast<size_t>(len), '\0');
    in.read(piece.data(), len);
    std::string marked;
    for (char c : piece) marked += c == ' ' ? std::string("\xe2\x96\x81") : std::string(1, c);
    tokens.push_back(marked);
    scores.push_back(score);
  }
  g.set_string("tokenizer.ggml.model", "llama");
  g.set_strings("tokenizer.ggml.tokens", tokens);
  g.set_f32s("tokenizer.ggml.scores", scores);
}

struct scratch {
  fs::path dir = fs::temp_directory_path() / ("alisa-gguf-loader-" + std::to_string(::getpid()));
  scratch() { fs::create_directories(dir); }
  ~scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string write(const std::string& name, const std::string& bytes) const {
    const std::string path = (dir / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
};

// `tokenizer` empty: the one found for the model (a GGUF's own).
std::vector<int> greedy(const std::string& model, const std::string& prompt,
                        const std::string& tokenizer = testing::shared_model_path("stories260K/tok512.bin")) {
  engine::engine_options o;
  o.model = model;
  o.tokenizer = tokenizer;
  auto e = engine::local_engine::open(o);
  EXPECT_TRUE(e.ok()) << e.status();
  if (!e.ok()) return {};
  sampling_params p;
  p.max_tokens = 48;
  return (*e)->generate(*(*e)->encode_prompt(prompt), p).token_ids;
}

TEST(GgufLoader, AnF32GgufGivesTheLlama2cCheckpointsGreedyTokens) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  const std::string bin = testing::shared_model_path("stories260K/stories260K.bin");
  auto w = load_model(bin, {});
  ASSERT_TRUE(w.ok()) << w.status();
  scratch s;
  gguf_writer g = to_gguf(*w, kF32);
  add_tokenizer(g);
  const std::string gguf = s.write("stories260K.gguf", g.bytes());
  auto loaded = load_model(gguf, {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config.vocab_size, w->config.vocab_size);
  EXPECT_EQ(loaded->config.num_kv_heads, w->config.num_kv_heads);
  EXPECT_TRUE(loaded->config.tie_word_embeddings);
  for (const char* prompt : {"Once upon a time", "The cat sat"}) {
    const auto expected = greedy(bin, prompt);
    EXPECT_EQ(greedy(gguf, prompt), expected) << prompt;
    EXPECT_EQ(greedy(gguf, prompt, ""), expected) << prompt << ": with the GGUF's own tokenizer";
  }
}

TEST(GgufLoader, Q8_0MatricesStayBlocksWithinTheirRoundingBound) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  auto w = load_model(testing::shared_model_path("stories260K/stories260K.bin"), {});
  ASSERT_TRUE(w.ok()) << w.status();
  scratch s;
  auto loaded = load_model(s.write("q8.gguf", to_gguf(*w, kQ8_0, true).bytes()), {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_FALSE(loaded->config.tie_word_embeddings) << "output.weight was written";
  const tensor_view& a = w->layers[1].wq;
  const tensor_view& b = loaded->layers[1].wq;
  ASSERT_EQ(b.type, dtype::q8_0) << "used in place, not dequantised";
  EXPECT_EQ(b.num_bytes(), static_cast<size_t>(a.num_elements() / 32 * 34));
  const auto* x = static_cast<const float*>(a.data);
  for (int64_t blk = 0; blk < a.num_elements() / 32; ++blk) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[blk * 32 + j]));
    // Half a quantisation step, plus the scale's own f16 rounding over 127 steps.
    const float bound = amax / 127.0f * 0.5f + amax * 1e-3f + 1e-8f;
    for (int j = 0; j < 32; ++j)
      ASSERT_NEAR(element_as_float(b, blk * 32 + j), x[blk * 32 + j], bound) << blk;
  }
}

// The weight dtype an engine settles on for `model` and its 48 greedy tokens after a fixed
// prompt; from_model: --dtype auto, else fp32.
std::pair<dtype, std::vector<int>> settled_dtype_and_tokens(const std::string& model, bool from_model) {
  engine::engine_options o;
  o.model = model;
  o.weight_type_from_model = from_model;
  auto e = engine::local_engine::open(o);
  EXPECT_TRUE(e.ok()) << e.status();
  if (!e.ok()) return {};
  sampling_params p;
  p.max_tokens = 48;
  return {(*e)->options().weight_type, (*e)->generate(*(*e)->encode_prompt("Once upon a time"), p).token_ids};
}

// Q4_0 blocks become Q8_0 blocks holding exactly the same values, and run.
TEST(GgufLoader, Q4_0BlocksBecomeExactQ8_0Blocks) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  auto w = load_model(testing::shared_model_path("stories260K/stories260K.bin"), {});
  ASSERT_TRUE(w.ok()) << w.status();
  scratch s;
  gguf_writer g = to_gguf(*w, kQ4_0);
  add_tokenizer(g);
  const std::string path = s.write("q4.gguf", g.bytes());
  auto loaded = load_model(path, {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const tensor_view& b = loaded->layers[2].wq;
  ASSERT_EQ(b.type, dtype::q8_0);
  const tensor_view& a = w->layers[2].wq;
  const std::string q4 = gguf_writer::q4_0(static_cast<const float*>(a.data), a.num_elements(), float_to_f16);
  for (int64_t i = 0; i < a.num_elements(); ++i) {
    const char* block = q4.data() + i / 32 * 18;
    uint16_t d;
    std::memcpy(&d, block, 2);
    const auto byte = static_cast<uint8_t>(block[2 + i % 16]);
    const int q = (i % 32 < 16 ? byte & 0x0F : byte >> 4) - 8;
    ASSERT_EQ(element_as_float(b, i), f16_to_float(d) * static_cast<float>(q)) << i;
  }
  const auto [q8_type, q8_tokens] = settled_dtype_and_tokens(path, true);
  EXPECT_EQ(q8_type, dtype::q8_0) << "runs on the q8_0 kernels";
  ASSERT_EQ(q8_tokens.size(), 48u);
  EXPECT_EQ(q8_tokens, settled_dtype_and_tokens(path, false).second) << "the same tokens as the values dequantised";
}

// --dtype auto runs a Q8_0 GGUF's blocks with the q8_0 kernels; the greedy tokens are those of
// the same file dequantised to fp32 (the kernels change the summation order, not the values).
TEST(GgufLoader, Q8_0GgufRunsItsBlocksAndMatchesTheDequantisedModel) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  auto w = load_model(testing::shared_model_path("stories260K/stories260K.bin"), {});
  ASSERT_TRUE(w.ok()) << w.status();
  scratch s;
  gguf_writer g = to_gguf(*w, kQ8_0);
  add_tokenizer(g);
  const std::string gguf = s.write("q8-tok.gguf", g.bytes());
  const auto [auto_type, q8_tokens] = settled_dtype_and_tokens(gguf, true);
  const auto [f32_type, f32_tokens] = settled_dtype_and_tokens(gguf, false);
  EXPECT_EQ(auto_type, dtype::q8_0);
  EXPECT_EQ(f32_type, dtype::f32);
  ASSERT_EQ(q8_tokens.size(), 48u);
  EXPECT_EQ(q8_tokens, f32_tokens);
}

TEST(GgufLoader, WhatIsMissingOrWrongIsNamed) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  auto w = load_model(testing::shared_model_path("stories260K/stories260K.bin"), {});
  ASSERT_TRUE(w.ok()) << w.status();
  scratch s;
  auto expect = [&](const gguf_writer& g, const std::string& needle) {
    auto r = load_model(s.write("bad.gguf", g.bytes()), {});
    ASSERT_FALSE(r.ok()) << needle;
    const std::string m(r.status().message());
    EXPECT_NE(m.find(needle), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  };
  {
    gguf_writer g = to_gguf(*w, kF32);
    g.set_string("general.architecture", "falcon");  // a second key: duplicate
    expect(g, "general.architecture appears twice");
  }
  {
    gguf_writer g;
    g.set_string("general.architecture", "falcon");
    expect(g, "architecture 'falcon' is not supported");
  }
  {
    gguf_writer g;
    g.set_string("general.architecture", "llama");
    expect(g, "llama.embedding_length is missing");
  }
  {
    gguf_writer g = to_gguf(*w, kF32);
    g.add_tensor("output.weight", {1, 1}, 0, std::string(4, '\0'));  // untied, wrong shape
    expect(g, "tensor output.weight has dims [1,1]");
  }
  {
    model_weights fewer = std::move(*w);
    fewer.layers.pop_back();  // the file claims one more block than it holds
    gguf_writer g = to_gguf(fewer, false);
    expect(g, "is missing");
  }
}

TEST(GgufLoader, TokenizersItCannotReadAreNamed) {
  scratch s;
  auto reason = [&](const gguf_writer& g) {
    auto t = load_gguf_tokenizer(s.write("tok.gguf", g.bytes()), 0);
    return t.ok() ? std::string("accepted") : std::string(t.status().message());
  };
  gguf_writer t5;
  t5.set_string("tokenizer.ggml.model", "t5");
  EXPECT_NE(reason(t5).find("'t5'"), std::string::npos) << reason(t5);
  gguf_writer gpt2_unknown_split;  // gpt2 vocabularies load (tests/model), but only known splits
  gpt2_unknown_split.set_string("tokenizer.ggml.model", "gpt2");
  gpt2_unknown_split.set_string("tokenizer.ggml.pre", "mystery");
  gpt2_unknown_split.set_strings("tokenizer.ggml.tokens", {"a", "b", "ab"});
  gpt2_unknown_split.set_strings("tokenizer.ggml.merges", {"a b"});
  EXPECT_NE(reason(gpt2_unknown_split).find("'mystery'"), std::string::npos) << reason(gpt2_unknown_split);
  gguf_writer mismatched;
  mismatched.set_string("tokenizer.ggml.model", "llama");
  mismatched.set_strings("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "a"});
  mismatched.set_f32s("tokenizer.ggml.scores", {0, 0, 0});
  EXPECT_NE(reason(mismatched).find("scores does not match"), std::string::npos) << reason(mismatched);
  gguf_writer none;
  none.set_string("general.architecture", "llama");
  EXPECT_NE(reason(none).find("holds no tokenizer"), std::string::npos) << reason(none);
}

}  // namespace
}  // namespace alisa::model
