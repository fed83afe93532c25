#pragma once
// model_config — the architecture hyper-parameters every loader fills in and the forward pass reads.
// One struct covers the Llama family (RMSNorm, RoPE, SwiGLU, GQA) and OPT (LayerNorm, learned
// positions, ReLU, biases). Fields that an architecture does not use keep their defaults.
#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace alisa::model {

enum class architecture { llama, opt };
enum class norm_kind { rms_norm, layer_norm };
enum class activation_kind { silu_gated, relu };  // silu_gated = SwiGLU (gate, up, down)
// rotate_half: HF Llama pairs element i with i + head_dim/2.
// interleaved: llama2.c pairs elements (2i, 2i+1).
enum class rope_layout { none, rotate_half, interleaved };

struct model_config {
  architecture arch = architecture::llama;
  int hidden_size = 0;
  int intermediate_size = 0;  // FFN width (OPT: ffn_dim)
  int num_layers = 0;
  int num_heads = 0;
  int num_kv_heads = 0;  // == num_heads without GQA
  int head_dim = 0;      // usually hidden_size / num_heads
  int vocab_size = 0;
  int max_position_embeddings = 0;  // the context length
  float norm_eps = 1e-5f;
  norm_kind norm = norm_kind::rms_norm;
  activation_kind activation = activation_kind::silu_gated;
  rope_layout rope = rope_layout::rotate_half;
  float rope_theta = 10000.0f;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // q/k/v/o projections carry biases (OPT: true)
  bool mlp_bias = false;        // FFN projections carry biases (OPT: true)
  // OPT only.
  bool do_layer_norm_before = true;  // pre-LN (true) or post-LN (OPT-350m)
  int word_embed_proj_dim = 0;       // != hidden_size => project_in/project_out exist
  int position_offset = 0;           // OPT's learned positions start at index 2
  int bos_token_id = 1;
  int eos_token_id = 2;

  int q_dim() const { return num_heads * head_dim; }
  int kv_dim() const { return num_kv_heads * head_dim; }
  int embed_dim() const { return word_embed_proj_dim > 0 ? word_embed_proj_dim : hidden_size; }
};

// Checks the invariants the forward pass relies on (positive sizes, heads divisible by kv heads…).
// The message names the offending field.
absl::Status validate(const model_config& config);

std::string to_string(architecture arch);

}  // namespace alisa::model
