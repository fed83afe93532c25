#pragma once
// hf_normalizer — the `normalizer` block of a Hugging Face tokenizer.json, for the kinds that need
// no Unicode tables. alisa links no Unicode normalization library (no ICU), so:
//   supported:  Sequence, Prepend, Replace with a String pattern, Strip (Unicode whitespace),
//               Lowercase (ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic; other scripts are
//               left as they are — Rust's full to_lowercase also covers rarer cases),
//               Precompiled with an EMPTY charsmap (it is then the identity).
//   identity:   NFC. Byte-level files (Qwen2) name it; text is assumed to arrive composed already,
//               which holds for nearly all input. Decomposed input (e.g. "e" + U+0301) then
//               tokenizes differently from Hugging Face's tokenizers (still losslessly).
//   refused:    NFD, NFKC, NFKD, a Precompiled charsmap with content, Replace with a Regex pattern,
//               BertNormalizer, StripAccents and anything else: Unimplemented, one line naming the
//               type, so that load_tokenizer can fall back to a sibling tokenizer.model.
// Immutable after parsing.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "absl/status/statusor.h"

namespace alisa::model {

class hf_normalizer {
 public:
  enum class kind { lowercase, strip, replace, prepend };
  struct step {
    kind what = kind::replace;
    std::string pattern;  // replace: the literal to find
    std::string content;  // replace: its substitute; prepend: the prefix
    bool left = false;    // strip: which ends
    bool right = false;
  };

  hf_normalizer() = default;
  explicit hf_normalizer(std::vector<step> steps) : steps_(std::move(steps)) {}

  bool is_identity() const { return steps_.empty(); }
  std::string apply(std::string_view text) const;

 private:
  std::vector<step> steps_;
};

// Parses tokenizer.json's "normalizer" value (null -> identity). `origin` names the file.
absl::StatusOr<hf_normalizer> parse_hf_normalizer(const nlohmann::json& j, const std::string& origin);

// Lowercase of one code point (see the coverage above).
char32_t simple_lowercase(char32_t cp);

}  // namespace alisa::model
