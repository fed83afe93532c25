#pragma once
// hf_loader — Hugging Face model directories (config.json + safetensors) -> model_weights.
// Tensor names follow transformers' LlamaForCausalLM / OPTForCausalLM; names with or without the
// leading "model." (and for OPT "model.decoder." / "decoder.") are accepted because exported
// checkpoints differ. Every tensor's shape is checked against the config. The views point into the
// mmapped safetensors files, which the returned weights keep alive.
#include <string>

#include "absl/status/statusor.h"
#include "model/model_weights.hpp"
#include "model/safetensors.hpp"

namespace alisa::model {

// DIR must hold config.json and model.safetensors (or an index + shards).
absl::StatusOr<model_weights> load_hf_directory(const std::string& dir);

// Binds already-opened tensors to the canonical layout (exposed for tests). `source` names the
// model in messages. Takes the table's storage into the result.
absl::StatusOr<model_weights> bind_hf_tensors(const model_config& config, tensor_table table,
                                              const std::string& source);

}  // namespace alisa::model
