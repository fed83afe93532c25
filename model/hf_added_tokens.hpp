#pragma once
// hf_added_tokens — tokenizer.json's "added_tokens": literals cut out of the text before the model
// sees it, each becoming its own id. Matching follows Hugging Face's added vocabulary:
//   * the leftmost match wins, the longest one at that position;
//   * tokens with normalized=false (the default for special tokens) are matched in the raw text;
//     tokens with normalized=true in the text after the normalizer, against their normalized
//     content (a token_matcher per kind; see hf_tokenizer.cpp). With an identity normalizer the
//     two texts agree and all tokens are matched in one pass, longest first;
//   * lstrip / rstrip: the match also swallows the whitespace to its left / right (so
//     "a <mask>" with lstrip gives "a" and <mask>, not "a " and <mask>);
//   * single_word: the match counts only when it is not glued to a word character (letter,
//     number or '_') on either side; otherwise that position is treated as plain text.
// Whitespace is Unicode White_Space; letters/numbers use pretokenizer.hpp's approximation.
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "absl/status/statusor.h"

namespace alisa::model {

struct hf_added_token {
  int id = -1;
  std::string content;
  bool special = false;  // decodes to nothing
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = false;
};

// A run of plain text (token_id < 0) or one matched added token. `text` views the matched input.
struct text_section {
  std::string_view text;
  int token_id = -1;
};

class token_matcher {
 public:
  token_matcher() = default;
  explicit token_matcher(std::vector<hf_added_token> tokens);  // contents as matched

  // Cuts `text` into consecutive sections covering it (plain text may come out empty-free).
  std::vector<text_section> split(std::string_view text) const;
  bool empty() const { return tokens_.empty(); }

 private:
  struct match {
    std::size_t start = 0;
    std::size_t end = 0;
    const hf_added_token* token = nullptr;
  };
  const hf_added_token* longest_at(std::string_view text, std::size_t pos) const;
  static bool glued_to_word(std::string_view text, std::size_t start, std::size_t end);

  std::vector<hf_added_token> tokens_;
  std::array<std::vector<std::size_t>, 256> by_first_byte_;  // longest first
};

// Parses "added_tokens" (null/absent -> none). Errors name the entry.
absl::StatusOr<std::vector<hf_added_token>> parse_hf_added_tokens(const nlohmann::json& root,
                                                                  const std::string& origin);

}  // namespace alisa::model
