#pragma once
// model_card — what a node needs to know about the model without holding its weights: the config
// (context length, vocabulary, BOS) and the tokenizer. The coordinator node admits and encodes
// prompts with it; workers load the weights themselves (local_engine).
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/local_engine.hpp"
#include "model/model_config.hpp"
#include "model/tokenizer.hpp"

namespace alisa::engine {

struct model_card {
  model::model_config config;
  std::shared_ptr<const model::tokenizer> tokenizer;
  // model/weights_fingerprint.hpp's hash of the weights; "synthetic:NAME" for synthetic ones.
  std::string weights_fingerprint;
  // How the matrices are stored (settled_weight_type: --dtype auto resolved against the file);
  // a worker replaces it with what its engine settled on.
  dtype weight_type = dtype::f32;
};

// Synthetic presets and Hugging Face directories are read without their weights (a directory's
// safetensors are only mapped); a llama2.c .bin is read whole (its header is the config).
absl::StatusOr<model_card> open_model_card(const engine_options& options);

// The tokenizer for options (--tokenizer, else the one found next to the model, else a byte
// tokenizer for synthetic models), checked against the model's vocabulary.
absl::StatusOr<std::unique_ptr<model::tokenizer>> open_engine_tokenizer(
    const engine_options& options, const model::model_config& config);

}  // namespace alisa::engine
