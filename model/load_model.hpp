#pragma once
// load_model — the one entry point that turns a --model argument into model_weights.
//
//   synthetic:NAME        deterministic seeded weights with a preset's real shapes
//   DIR/                  Hugging Face directory: config.json + model.safetensors
//                         (or model.safetensors.index.json + shards); mmapped, fp32/fp16/bf16
//   FILE.bin              llama2.c checkpoint (header + fp32 arrays)
// A lone .safetensors file is refused: the config.json beside it is what gives it meaning.
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
  // Synthetic presets only: the storage dtype the weights are generated in (directly, never via an
  // fp32 copy). llama-2-7b is 27 GB in fp32 but 13.5 GB in bf16/fp16: use --dtype bf16 for it.
  dtype synthetic_dtype = dtype::f32;
  // Refuse weights holding NaN/inf (weight_check.hpp): automatic = files whose weights are under
  // kCheckWeightsBelowBytes (synthetic weights are finite by construction and skipped).
  enum class weight_check { automatic, on, off };
  weight_check check_weights = weight_check::automatic;
};

absl::StatusOr<model_weights> load_model(const std::string& spec, const load_options& options = {});

}  // namespace alisa::model
