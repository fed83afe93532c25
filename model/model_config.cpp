// model_config validation: the forward pass assumes these invariants instead of re-checking them.
#include "model/model_config.hpp"

#include "absl/strings/str_cat.h"

namespace alisa::model {
namespace {

absl::Status positive(const char* field, int value) {
  if (value > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("model config: ", field, " must be positive, got ", value));
}

}  // namespace

absl::Status validate(const model_config& c) {
  for (auto [field, value] : {std::pair{"hidden_size", c.hidden_size},
                              std::pair{"intermediate_size", c.intermediate_size},
                              std::pair{"num_layers", c.num_layers}, std::pair{"num_heads", c.num_heads},
                              std::pair{"num_kv_heads", c.num_kv_heads}, std::pair{"head_dim", c.head_dim},
                              std::pair{"vocab_size", c.vocab_size},
                              std::pair{"max_position_embeddings", c.max_position_embeddings}}) {
    if (auto s = positive(field, value); !s.ok()) return s;
  }
  if (c.num_heads % c.num_kv_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat("model config: num_heads (", c.num_heads,
                                                   ") is not a multiple of num_kv_heads (", c.num_kv_heads, ")"));
  }
  if (c.rope != rope_layout::none && c.head_dim % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrCat("model config: head_dim (", c.head_dim, ") must be even for RoPE"));
  }
  if (!(c.norm_eps > 0.0f)) {
    return absl::InvalidArgumentError(absl::StrCat("model config: norm_eps must be positive, got ", c.norm_eps));
  }
  if (c.rope != rope_layout::none && !(c.rope_theta > 0.0f)) {
    return absl::InvalidArgumentError(absl::StrCat("model config: rope_theta must be positive, got ", c.rope_theta));
  }
  if (c.word_embed_proj_dim < 0 || c.position_offset < 0) {
    return absl::InvalidArgumentError("model config: word_embed_proj_dim and position_offset must be >= 0");
  }
  // The architectures differ in which combinations are meaningful; catch a half-filled config.
  if (c.arch == architecture::opt &&
      (c.norm != norm_kind::layer_norm || c.activation != activation_kind::relu || c.rope != rope_layout::none)) {
    return absl::InvalidArgumentError("model config: OPT requires layer_norm, relu and no RoPE");
  }
  if (c.arch == architecture::llama && (c.norm != norm_kind::rms_norm || c.rope == rope_layout::none)) {
    return absl::InvalidArgumentError("model config: llama requires rms_norm and a RoPE layout");
  }
  return absl::OkStatus();
}

std::string to_string(architecture arch) {
  switch (arch) {
    case architecture::llama: return "llama";
    case architecture::opt: return "opt";
  }
  return "?";
}

}  // namespace alisa::model
