#pragma once
// synthetic — deterministic seeded weights with the real shapes of known models (like vLLM's
// --load-format dummy), for speed and scale work where no real checkpoint is available offline.
// Values come from a counter-based hash (splitmix64 of seed, tensor index, element index), so they
// are reproducible and independent of the thread count that fills them. Linear weights are uniform
// in ±1/sqrt(fan_in) so activations stay finite through many layers; norm gains are 1; biases are
// small. Weights are generated directly in the requested dtype (llama-2-7b needs bf16/fp16 to fit
// in RAM: 13.5 GB instead of 27 GB).
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/load_model.hpp"
#include "model/model_weights.hpp"

namespace alisa::model {

// Every preset name, e.g. "tiny", "tiny-gqa", "tiny-opt", "stories15m", "stories110m",
// "smollm2-135m", "opt-125m", "llama-2-7b", "opt-6.7b".
std::vector<std::string> synthetic_preset_names();

// A preset's config without generating weights (cheap even for llama-2-7b). max_position_embeddings
// > 0 overrides the context length. Unknown name -> NotFound listing the valid names.
absl::StatusOr<model_config> synthetic_preset_config(const std::string& name, int max_position_embeddings = 0);

// Generates the weights of preset `name` (without the "synthetic:" prefix) using
// options.synthetic_seed, options.synthetic_dtype and options.max_position_embeddings.
// Result: synthetic == true, source == "synthetic:NAME". Uses all hardware threads for big presets.
absl::StatusOr<model_weights> make_synthetic_model(const std::string& name, const load_options& options = {});

}  // namespace alisa::model
