#pragma once
// gguf_loader — Llama-family models (GQA included) from a GGUF file (model/gguf.hpp), into the
// canonical model_weights layout.
//
// Config from the metadata: llama.embedding_length, .block_count, .feed_forward_length,
// .attention.head_count (required), .attention.head_count_kv, .context_length,
// .attention.layer_norm_rms_epsilon, .rope.freq_base, .rope.dimension_count (must be the head
// size: partial rotary is refused), tokenizer.ggml.bos_token_id / eos_token_id. The vocabulary
// size is token_embd's. RoPE pairs elements (2i, 2i+1), as llama.cpp's converters store Q and K.
//
// Tensors: token_embd, output_norm, output (absent = tied), and per layer attn_norm, attn_q,
// attn_k, attn_v, attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down (".weight"). Each must have
// exactly the shape the config implies. F32, F16, BF16 and Q8_0 are used in place from the
// mapping (Q8_0 as dtype::q8_0: with --dtype auto the CPU backend runs the blocks as stored, at
// ~1.06 bytes per weight). Q4_0 blocks become Q8_0 blocks at load, exactly (same scale, codes
// q - 8): ~1.06 bytes per weight in RAM rather than the file's ~0.56, as no backend has 4-bit
// kernels yet.
// Other architectures are refused by name. Errors are one line naming the file.
#include <string>

#include "absl/status/statusor.h"
#include "model/model_weights.hpp"

namespace alisa::model {

absl::StatusOr<model_weights> load_gguf(const std::string& path);

// The Jinja text of the file's tokenizer.chat_template ("" when it declares none); what `serve`
// places among its chat families (cluster/http/chat_template.hpp). Errors as load_gguf's.
absl::StatusOr<std::string> gguf_chat_template(const std::string& path);

}  // namespace alisa::model
