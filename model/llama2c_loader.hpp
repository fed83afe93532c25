#pragma once
// llama2c_loader — Karpathy llama2.c checkpoints (.bin): 7 int32 header fields
// (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len) then fp32 arrays, each
// holding all layers (see shared/models/stories260K/PROVENANCE.md). A negative vocab_size means an
// untied classifier follows the legacy RoPE tables. The file size must match the header exactly.
// Weights are views into the mmapped file; RoPE layout is interleaved (pairs 2i, 2i+1).
#include <string>

#include "absl/status/statusor.h"
#include "model/model_weights.hpp"

namespace alisa::model {

absl::StatusOr<model_weights> load_llama2c(const std::string& path);

}  // namespace alisa::model
