#pragma once
// hf_config — Hugging Face config.json -> model_config.
// Supported: the Llama family (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM; model_type
// llama / mistral / qwen2) and OPTForCausalLM. HF defaults are applied where a field is optional
// (head_dim = hidden/heads, num_key_value_heads = heads, tie_word_embeddings false for the Llama
// family and true for OPT). A missing required field, an unsupported architecture or activation,
// and a non-null rope_scaling are errors naming the field / value.
#include <string>

#include "absl/status/statusor.h"
#include "model/model_config.hpp"

namespace alisa::model {

// `path` names the file in error messages only.
absl::StatusOr<model_config> parse_hf_config(const std::string& json_text, const std::string& path);

// Reads and parses DIR/config.json (or the given file).
absl::StatusOr<model_config> load_hf_config(const std::string& config_json_path);

}  // namespace alisa::model
