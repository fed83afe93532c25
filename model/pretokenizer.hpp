#pragma once
// pretokenizer — the regex word splits of byte-level BPE tokenizers, hand-written (no regex
// engine with Unicode classes is available). Two families are recognised:
//   gpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   llama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,D}
//           | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+      (D = 3 Llama-3, 1 Qwen2)
// Unicode categories are APPROXIMATED (see is_letter / is_number in the .cpp): \s is the exact
// White_Space set; \p{N} is ASCII digits plus a few common digit/number blocks; \p{L} is ASCII
// letters plus every other non-ASCII code point that is not whitespace, a number, a combining
// mark (Latin combining block, Indic vowel signs/viramas, Hebrew/Arabic points, Thai
// vowel marks), or in a known punctuation/symbol/emoji block. Text in Latin, Cyrillic, Greek, CJK etc.
// splits as with the real regex; rare marks/symbols outside those blocks may split differently.
#include <string_view>
#include <vector>

namespace alisa::model {

struct split_rule {
  enum class family { gpt2, llama3 } kind = family::gpt2;
  int max_digits = 0;  // llama3 family: digits per piece (\p{N}{1,D}); 0 = unlimited
};

// Splits UTF-8 text into consecutive pieces covering it exactly (views into `text`).
std::vector<std::string_view> pretokenize(std::string_view text, const split_rule& rule);

bool is_unicode_whitespace(char32_t cp);
bool is_unicode_number(char32_t cp);  // approximation, see above
bool is_unicode_letter(char32_t cp);  // approximation, see above

}  // namespace alisa::model
