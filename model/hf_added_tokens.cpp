#include "model/hf_added_tokens.hpp"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "model/hf_json.hpp"
#include "model/pretokenizer.hpp"
#include "model/utf8.hpp"

namespace alisa::model {
namespace {

using hf_json::json;

// The code point ending just before `end` (text[end - k, end)).
char32_t code_point_before(std::string_view text, std::size_t end, std::size_t& start) {
  start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  char32_t cp;
  utf8::decode(text, start, cp);
  return cp;
}

bool is_word_char(char32_t cp) { return cp == '_' || is_unicode_letter(cp) || is_unicode_number(cp); }

// Moves `start` left over whitespace, never before `floor`.
std::size_t strip_left(std::string_view text, std::size_t start, std::size_t floor) {
  while (start > floor) {
    std::size_t before;
    if (!is_unicode_whitespace(code_point_before(text, start, before)) || before < floor) break;
    start = before;
  }
  return start;
}

std::size_t strip_right(std::string_view text, std::size_t end) {
  while (end < text.size()) {
    char32_t cp;
    const std::size_t len = utf8::decode(text, end, cp);
    if (!is_unicode_whitespace(cp)) break;
    end += len;
  }
  return end;
}

}  // namespace

token_matcher::token_matcher(std::vector<hf_added_token> tokens) : tokens_(std::move(tokens)) {
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    if (tokens_[i].content.empty()) continue;  // never matches (and would stall the scan)
    by_first_byte_[static_cast<unsigned char>(tokens_[i].content[0])].push_back(i);
  }
  for (auto& list : by_first_byte_) {
    std::stable_sort(list.begin(), list.end(), [&](std::size_t a, std::size_t b) {
      return tokens_[a].content.size() > tokens_[b].content.size();
    });
  }
}

const hf_added_token* token_matcher::longest_at(std::string_view text, std::size_t pos) const {
  for (std::size_t index : by_first_byte_[static_cast<unsigned char>(text[pos])]) {
    const hf_added_token& token = tokens_[index];
    if (text.substr(pos, token.content.size()) == token.content) return &token;
  }
  return nullptr;
}

bool token_matcher::glued_to_word(std::string_view text, std::size_t start, std::size_t end) {
  std::size_t unused;
  if (start > 0 && is_word_char(code_point_before(text, start, unused))) return true;
  char32_t cp;
  return end < text.size() && (utf8::decode(text, end, cp), is_word_char(cp));
}

std::vector<text_section> token_matcher::split(std::string_view text) const {
  std::vector<text_section> out;
  std::size_t plain_start = 0;  // start of the plain text not yet emitted
  std::size_t pos = 0;
  while (pos < text.size()) {
    const hf_added_token* token = longest_at(text, pos);
    const std::size_t end = token ? pos + token->content.size() : pos;
    if (token == nullptr || (token->single_word && glued_to_word(text, pos, end))) {
      ++pos;
      continue;
    }
    const std::size_t start = token->lstrip ? strip_left(text, pos, plain_start) : pos;
    const std::size_t stop = token->rstrip ? strip_right(text, end) : end;
    if (start > plain_start) out.push_back({text.substr(plain_start, start - plain_start), -1});
    out.push_back({text.substr(start, stop - start), token->id});
    plain_start = pos = stop;
  }
  if (plain_start < text.size()) out.push_back({text.substr(plain_start), -1});
  return out;
}

absl::StatusOr<std::vector<hf_added_token>> parse_hf_added_tokens(const json& root,
                                                                  const std::string& origin) {
  std::vector<hf_added_token> tokens;
  const json* list = hf_json::member(root, "added_tokens");
  if (list == nullptr || list->is_null()) return tokens;
  if (!list->is_array()) return hf_json::invalid(origin, "added_tokens is not an array");
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& item = (*list)[i];
    const json* id = hf_json::member(item, "id");
    auto content = hf_json::string_member(item, "content");
    if (id == nullptr || !id->is_number_integer() || id->get<std::int64_t>() < 0 ||
        id->get<std::int64_t>() > (1 << 30) || !content || content->empty())
      return hf_json::invalid(origin, absl::StrCat("added_tokens[", i, "] has no valid id/content"));
    hf_added_token token;
    token.id = id->get<int>();
    token.content = *content;
    token.special = hf_json::bool_member(item, "special", false);
    token.lstrip = hf_json::bool_member(item, "lstrip", false);
    token.rstrip = hf_json::bool_member(item, "rstrip", false);
    token.single_word = hf_json::bool_member(item, "single_word", false);
    token.normalized = hf_json::bool_member(item, "normalized", !token.special);
    tokens.push_back(std::move(token));
  }
  return tokens;
}

}  // namespace alisa::model
