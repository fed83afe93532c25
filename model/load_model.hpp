#pragma once
// load_model — the one entry point that turns a --model argument into model_weights.
//
//   synthetic:NAME        deterministic seeded weights with a preset's real shapes
//   DIR/                  Hugging Face directory: config.json + model.safetensors
//                         (or model.safetensors.index.json + shards); mmapped, fp32/fp16/bf16
//   FILE.bin              llama2.c checkpoint (header + fp32 arrays)
//
// Errors are absl::Status with one line naming the file and the problem (missing path,
// truncated file, lying safetensors header, unsupported architecture, missing config field…).
#include <string>

#include "absl/status/statusor.h"
#include "model/model_weights.hpp"

namespace alisa::model {

struct load_options {
  // Synthetic presets only: overrides the preset's context length when > 0 (long-context benches).
  int max_position_embeddings = 0;
  uint64_t synthetic_seed = 0x5eed;
};

absl::StatusOr<model_weights> load_model(const std::string& spec, const load_options& options = {});

}  // namespace alisa::model
