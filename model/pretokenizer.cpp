#include "model/pretokenizer.hpp"

#include <cstddef>

#include "model/utf8.hpp"

namespace alisa::model {

bool is_unicode_whitespace(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

bool is_unicode_number(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return cp == 0xB2 || cp == 0xB3 || cp == 0xB9 || (cp >= 0xBC && cp <= 0xBE) ||  // ²³¹¼½¾
         (cp >= 0x0660 && cp <= 0x0669) || (cp >= 0x06F0 && cp <= 0x06F9) ||      // Arabic
         (cp >= 0x0966 && cp <= 0x096F) ||                                        // Devanagari
         cp == 0x2070 || (cp >= 0x2074 && cp <= 0x2079) || (cp >= 0x2080 && cp <= 0x2089) ||
         (cp >= 0x2150 && cp <= 0x2189) || (cp >= 0x2460 && cp <= 0x249B) ||      // ⅓ Ⅻ ①
         cp == 0x3007 || (cp >= 0xFF10 && cp <= 0xFF19);        // 〇 ０-９
}

namespace {

// Combining marks (\p{M}) of the common abugidas and RTL scripts: vowel signs, viramas, points.
// Indic blocks U+0900..U+0DFF share one layout, so offsets inside each 128-code-point block work.
bool is_common_mark(char32_t cp) {
  if (cp >= 0x0900 && cp <= 0x0DFF) {
    const char32_t o = cp & 0x7F;
    return o <= 0x03 || o == 0x3C || (o >= 0x3E && o <= 0x4D) || (o >= 0x51 && o <= 0x57) ||
           (o >= 0x62 && o <= 0x63);
  }
  return (cp >= 0x0591 && cp <= 0x05BD) || cp == 0x05BF || (cp >= 0x05C1 && cp <= 0x05C7) ||
         (cp >= 0x0610 && cp <= 0x061A) || (cp >= 0x064B && cp <= 0x065F) || cp == 0x0670 ||
         cp == 0x0E31 || (cp >= 0x0E34 && cp <= 0x0E3A) || (cp >= 0x0E47 && cp <= 0x0E4E);
}

// Blocks that hold (almost) no letters: punctuation, symbols, combining marks, emoji, private use.
bool in_non_letter_block(char32_t cp) {
  return (cp >= 0x00A1 && cp <= 0x00BF) || cp == 0xD7 || cp == 0xF7 ||
         (cp >= 0x0300 && cp <= 0x036F) ||   // combining diacritical marks (\p{M}, not \p{L})
         (cp >= 0x1AB0 && cp <= 0x1AFF) || (cp >= 0x1DC0 && cp <= 0x1DFF) ||
         (cp >= 0x2000 && cp <= 0x2BFF) ||   // punctuation, currency, arrows, math, shapes...
         (cp >= 0x2E00 && cp <= 0x2E7F) ||   // supplemental punctuation
         (cp >= 0x3000 && cp <= 0x3004) || (cp >= 0x3008 && cp <= 0x3020) ||  // CJK punctuation
         (cp >= 0xE000 && cp <= 0xF8FF) ||   // private use
         (cp >= 0xFE00 && cp <= 0xFE0F) ||   // variation selectors
         (cp >= 0xFE30 && cp <= 0xFE6F) ||   // CJK compatibility / small forms
         (cp >= 0xFF01 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) ||
         (cp >= 0xFF3B && cp <= 0xFF40) || (cp >= 0xFF5B && cp <= 0xFF65) ||  // fullwidth punct
         cp == 0xFFFD ||
         (cp >= 0x1F000 && cp <= 0x1FAFF) ||  // emoji and pictographs
         (cp >= 0xE0000 && cp <= 0xE007F);     // tags
}

}  // namespace

bool is_unicode_letter(char32_t cp) {
  if (cp < 0x80) return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
  if (cp == 0xAA || cp == 0xB5 || cp == 0xBA) return true;  // ª µ º are letters in Latin-1
  return !is_unicode_whitespace(cp) && !is_unicode_number(cp) && !in_non_letter_block(cp) &&
         !is_common_mark(cp);
}

namespace {

enum class cls : unsigned char { letter, number, space, other };

cls classify(char32_t cp) {
  if (is_unicode_whitespace(cp)) return cls::space;
  if (is_unicode_letter(cp)) return cls::letter;
  if (is_unicode_number(cp)) return cls::number;
  return cls::other;
}

// The text as code points with their byte offsets (offsets has one extra entry: text.size()).
struct code_points {
  std::vector<char32_t> cps;
  std::vector<cls> classes;
  std::vector<std::size_t> offsets;

  explicit code_points(std::string_view text) {
    std::size_t pos = 0;
    while (pos < text.size()) {
      char32_t cp;
      const std::size_t len = utf8::decode(text, pos, cp);
      cps.push_back(cp);
      classes.push_back(classify(cp));
      offsets.push_back(pos);
      pos += len;
    }
    offsets.push_back(text.size());
  }
  std::size_t size() const { return cps.size(); }
  bool is(std::size_t i, cls c) const { return i < size() && classes[i] == c; }
  bool newline(std::size_t i) const { return i < size() && (cps[i] == '\r' || cps[i] == '\n'); }
};

char32_t lower_ascii(char32_t c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

// 's 't 're 've 'm 'll 'd at i: returns the length in code points, 0 when none matches.
std::size_t contraction(const code_points& t, std::size_t i, bool ignore_case) {
  if (t.cps[i] != '\'' || i + 1 >= t.size()) return 0;
  auto at = [&](std::size_t k) { return ignore_case ? lower_ascii(t.cps[k]) : t.cps[k]; };
  const char32_t a = at(i + 1);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (i + 2 < t.size()) {
    const char32_t b = at(i + 2);
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  }
  return 0;
}

std::size_t run_end(const code_points& t, std::size_t i, cls c) {
  while (t.is(i, c)) ++i;
  return i;
}

// \s+(?!\S)|\s+ at i (a whitespace code point): a run followed by text leaves its last space to
// prefix the next word (" word"); a run at the end of text, or of length 1, is taken whole.
std::size_t whitespace_piece_end(const code_points& t, std::size_t i) {
  const std::size_t end = run_end(t, i, cls::space);
  if (end == t.size() || end - i == 1) return end;
  return end - 1;
}

std::size_t gpt2_piece_end(const code_points& t, std::size_t i) {
  if (std::size_t n = contraction(t, i, false)) return i + n;
  const bool space_prefix = t.cps[i] == ' ' && i + 1 < t.size();
  const std::size_t j = space_prefix ? i + 1 : i;  // " ?" is optional
  for (cls c : {cls::letter, cls::number, cls::other}) {
    if (t.is(j, c)) return run_end(t, j, c);
  }
  return whitespace_piece_end(t, i);
}

std::size_t llama3_piece_end(const code_points& t, std::size_t i, int max_digits) {
  if (std::size_t n = contraction(t, i, true)) return i + n;
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (t.is(i, cls::letter)) return run_end(t, i, cls::letter);
  if (!t.newline(i) && !t.is(i, cls::number) && t.is(i + 1, cls::letter))
    return run_end(t, i + 1, cls::letter);
  // \p{N}{1,D}
  if (t.is(i, cls::number)) {
    std::size_t end = run_end(t, i, cls::number);
    if (max_digits > 0 && end - i > static_cast<std::size_t>(max_digits)) end = i + max_digits;
    return end;
  }
  // " ?[^\s\p{L}\p{N}]+[\r\n]*"
  const std::size_t j = t.cps[i] == ' ' ? i + 1 : i;
  if (t.is(j, cls::other)) {
    std::size_t end = run_end(t, j, cls::other);
    while (t.newline(end)) ++end;
    return end;
  }
  // \s*[\r\n]+ : through the last newline of the whitespace run
  const std::size_t end = run_end(t, i, cls::space);
  for (std::size_t k = end; k > i; --k) {
    if (t.newline(k - 1)) return k;
  }
  return whitespace_piece_end(t, i);
}

}  // namespace

std::vector<std::string_view> pretokenize(std::string_view text, const split_rule& rule) {
  const code_points t(text);
  std::vector<std::string_view> pieces;
  std::size_t i = 0;
  while (i < t.size()) {
    std::size_t end = rule.kind == split_rule::family::gpt2 ? gpt2_piece_end(t, i)
                                                              : llama3_piece_end(t, i, rule.max_digits);
    if (end <= i) end = i + 1;  // never stall, whatever the input
    pieces.push_back(text.substr(t.offsets[i], t.offsets[end] - t.offsets[i]));
    i = end;
  }
  return pieces;
}

}  // namespace alisa::model
