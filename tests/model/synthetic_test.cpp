#include "model/synthetic.hpp"

#include <cmath>
#include <cstring>

#include <gtest/gtest.h>

#include "model/load_model.hpp"
#include "tests/model/status_matchers.hpp"
#include "tests/support/reference_forward.hpp"

namespace alisa::model {
namespace {

bool same_bytes(const tensor_view& a, const tensor_view& b) {
  return a.shape == b.shape && a.type == b.type && std::memcmp(a.data, b.data, a.num_bytes()) == 0;
}

TEST(Synthetic, SameSeedSameBytesDifferentSeedDifferentBytes) {
  auto a = load_model("synthetic:tiny");
  auto b = load_model("synthetic:tiny");
  load_options other;
  other.synthetic_seed = 7;
  auto c = load_model("synthetic:tiny", other);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_TRUE(same_bytes(a->token_embedding, b->token_embedding));
  EXPECT_TRUE(same_bytes(a->layers[1].w_down, b->layers[1].w_down));
  EXPECT_TRUE(same_bytes(a->lm_head, b->lm_head));
  EXPECT_FALSE(same_bytes(a->layers[1].w_down, c->layers[1].w_down));
  EXPECT_FALSE(same_bytes(a->layers[0].wq, a->layers[1].wq));  // tensors get distinct streams
  EXPECT_TRUE(a->synthetic);
  EXPECT_EQ(a->source, "synthetic:tiny");
}

TEST(Synthetic, TinyShapesAndFiniteLogits) {
  auto w = load_model("synthetic:tiny");
  ASSERT_TRUE(w.ok()) << w.status();
  const model_config& c = w->config;
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.num_layers, 2);
  EXPECT_EQ(c.num_heads, 4);
  EXPECT_EQ(c.num_kv_heads, 2);
  EXPECT_EQ(c.intermediate_size, 172);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.max_position_embeddings, 512);
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_EQ(c.eos_token_id, 2);
  EXPECT_EQ(w->layers[0].wk.shape, (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(w->layers[0].w_down.shape, (std::vector<int64_t>{64, 172}));
  EXPECT_EQ(w->lm_head.shape, (std::vector<int64_t>{512, 64}));
  EXPECT_NE(w->lm_head.data, w->token_embedding.data);
  for (const auto& row : alisa::testing::reference_forward(*w, {1, 100, 200})) {
    for (double v : row) ASSERT_TRUE(std::isfinite(v));
  }
}

TEST(Synthetic, TinyOptShapes) {
  load_options o;
  o.max_position_embeddings = 100;
  auto w = load_model("synthetic:tiny-opt", o);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->config.arch, architecture::opt);
  EXPECT_EQ(w->position_embedding.shape, (std::vector<int64_t>{102, 64}));
  EXPECT_TRUE(w->layers[1].b_up.present());
  EXPECT_EQ(w->lm_head.data, w->token_embedding.data);
  for (const auto& row : alisa::testing::reference_forward(*w, {2, 30, 40})) {
    for (double v : row) ASSERT_TRUE(std::isfinite(v));
  }
}

TEST(Synthetic, PresetConfigsWithoutWeights) {
  struct expected {
    const char* name;
    architecture arch;
    int hidden, layers, heads, kv, ffn, vocab, ctx;
    bool tied;
  };
  const expected table[] = {
      {"tiny", architecture::llama, 64, 2, 4, 2, 172, 512, 512, false},
      {"stories15m", architecture::llama, 288, 6, 6, 6, 768, 32000, 256, true},
      {"stories110m", architecture::llama, 768, 12, 12, 12, 2048, 32000, 1024, true},
      {"smollm2-135m", architecture::llama, 576, 30, 9, 3, 1536, 49152, 8192, true},
      {"opt-125m", architecture::opt, 768, 12, 12, 12, 3072, 50272, 2048, true},
      {"llama-2-7b", architecture::llama, 4096, 32, 32, 32, 11008, 32000, 4096, false},
      {"opt-6.7b", architecture::opt, 4096, 32, 32, 32, 16384, 50272, 2048, true},
  };
  for (const expected& e : table) {
    auto c = synthetic_preset_config(e.name);
    ASSERT_TRUE(c.ok()) << e.name << ": " << c.status();
    EXPECT_EQ(c->arch, e.arch) << e.name;
    EXPECT_EQ(c->hidden_size, e.hidden) << e.name;
    EXPECT_EQ(c->num_layers, e.layers) << e.name;
    EXPECT_EQ(c->num_heads, e.heads) << e.name;
    EXPECT_EQ(c->num_kv_heads, e.kv) << e.name;
    EXPECT_EQ(c->head_dim, e.hidden / e.heads) << e.name;
    EXPECT_EQ(c->intermediate_size, e.ffn) << e.name;
    EXPECT_EQ(c->vocab_size, e.vocab) << e.name;
    EXPECT_EQ(c->max_position_embeddings, e.ctx) << e.name;
    EXPECT_EQ(c->tie_word_embeddings, e.tied) << e.name;
  }
  EXPECT_FLOAT_EQ(synthetic_preset_config("smollm2-135m")->rope_theta, 100000.0f);
  EXPECT_EQ(synthetic_preset_config("llama-2-7b", 16384)->max_position_embeddings, 16384);
  EXPECT_TRUE(test::message_contains(synthetic_preset_config("nope").status(), "opt-6.7b"));
  for (const std::string& name : synthetic_preset_names()) EXPECT_TRUE(synthetic_preset_config(name).ok()) << name;
}

TEST(Synthetic, Bf16GenerationMatchesRoundedValues) {
  load_options bf;
  bf.synthetic_dtype = dtype::bf16;
  auto w16 = load_model("synthetic:tiny-gqa", bf);
  auto w32 = load_model("synthetic:tiny-gqa");
  ASSERT_TRUE(w16.ok() && w32.ok());
  const tensor_view& a = w16->layers[3].wv;
  const tensor_view& b = w32->layers[3].wv;
  EXPECT_EQ(a.type, dtype::bf16);
  EXPECT_EQ(w16->num_weight_bytes() * 2, w32->num_weight_bytes());
  EXPECT_EQ(w16->num_parameters(), w32->num_parameters());
  for (int64_t i = 0; i < a.num_elements(); ++i) {
    ASSERT_EQ(static_cast<const uint16_t*>(a.data)[i], float_to_bf16(static_cast<const float*>(b.data)[i])) << i;
  }
}

TEST(Synthetic, MediumPresetFillsInParallelDeterministically) {
  load_options o;
  o.synthetic_dtype = dtype::f16;
  auto a = load_model("synthetic:stories15m", o);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->token_embedding.shape, (std::vector<int64_t>{32000, 288}));
  EXPECT_EQ(a->config.rope, rope_layout::interleaved);
  auto b = load_model("synthetic:stories15m", o);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(same_bytes(a->token_embedding, b->token_embedding));  // 9.2M elements: many chunks
}

}  // namespace
}  // namespace alisa::model
