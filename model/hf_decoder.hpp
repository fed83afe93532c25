#pragma once
// hf_decoder — the `decoder` block of a (non byte-level) Hugging Face tokenizer.json, reduced to
// what one token contributes, so that tokenizer::token_bytes can stream. Supported:
//   Replace (String pattern), ByteFallback ("<0xHH>" -> that raw byte), Fuse (concatenation is
//   what streaming does anyway), Strip with stop 0 (`start` leading copies of `content` removed
//   from the first token), Metaspace (the replacement becomes ' ', and the first token loses its
//   replacement characters unless prepend_scheme is "never" — Hugging Face's rule), Sequence.
//   null: pieces are emitted as they are spelled.
// Refused (Unimplemented, naming the type): Strip with stop > 0 (needs the end of the sequence),
// Replace with a Regex, WordPiece, BPEDecoder, CTC and others. Byte-level tokenizers do not use
// this: their ids always decode through byte_level.hpp's map (hf_tokenizer.cpp).
// "First token" means the first of a sequence, or the one right after BOS.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "absl/status/statusor.h"

namespace alisa::model {

struct hf_decoder {
  bool byte_fallback = false;
  std::vector<std::pair<std::string, std::string>> replacements;  // applied in order
  std::string first_token_drop;  // Metaspace: removed from the first token before replacing
  std::string strip_content = " ";
  int strip_start = 0;

  // The raw bytes `piece` contributes; `first`: it starts the sequence.
  std::string surface(std::string_view piece, bool first) const;
};

// Parses tokenizer.json's "decoder" value (null -> pieces verbatim).
absl::StatusOr<hf_decoder> parse_hf_decoder(const nlohmann::json& j, const std::string& origin);

}  // namespace alisa::model
