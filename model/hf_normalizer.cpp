#include "model/hf_normalizer.hpp"

#include "absl/strings/str_replace.h"
#include "model/hf_json.hpp"
#include "model/pretokenizer.hpp"
#include "model/utf8.hpp"

namespace alisa::model {
namespace {

using hf_json::json;

// Latin Extended-A pairs upper/lower as (even, odd) in U+0100..U+0137 and U+014A..U+0177, and as
// (odd, even) in U+0139..U+0148 and U+0179..U+017E.
char32_t latin_extended_a_lower(char32_t cp) {
  if ((cp <= 0x0137 && cp != 0x0130) || (cp >= 0x014A && cp <= 0x0177)) return cp | 1;
  if ((cp >= 0x0139 && cp <= 0x0148) || (cp >= 0x0179 && cp <= 0x017E)) return cp % 2 ? cp + 1 : cp;
  if (cp == 0x0178) return 0x00FF;  // Ÿ
  return cp;
}

std::string lowercase(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp;
    const std::size_t len = utf8::decode(text, pos, cp);
    if (cp == utf8::replacement_char) {
      out.append(text, pos, len);  // keep invalid bytes as they are: normalizing must not lose text
    } else {
      utf8::append(out, simple_lowercase(cp));
    }
    pos += len;
  }
  return out;
}

std::string_view strip(std::string_view text, bool left, bool right) {
  auto first_cp = [&](std::size_t pos) {
    char32_t cp;
    return std::pair{utf8::decode(text, pos, cp), cp};
  };
  while (left && !text.empty()) {
    auto [len, cp] = first_cp(0);
    if (!is_unicode_whitespace(cp)) break;
    text.remove_prefix(len);
  }
  while (right && !text.empty()) {
    std::size_t start = text.size() - 1;  // back up to the last code point's lead byte
    while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    auto [len, cp] = first_cp(start);
    if (start + len != text.size() || !is_unicode_whitespace(cp)) break;
    text.remove_suffix(len);
  }
  return text;
}

absl::Status parse_step(const json& j, const std::string& origin, std::vector<hf_normalizer::step>& out);

absl::Status parse_replace(const json& j, const std::string& origin,
                           std::vector<hf_normalizer::step>& out) {
  const json* pattern = hf_json::member(j, "pattern");
  auto content = hf_json::string_member(j, "content");
  if (pattern != nullptr && hf_json::member(*pattern, "Regex") != nullptr)
    return hf_json::unsupported(origin, "normalizer Replace with a Regex pattern is not supported");
  auto literal = pattern != nullptr ? hf_json::string_member(*pattern, "String") : std::nullopt;
  if (!literal || literal->empty() || !content)
    return hf_json::invalid(origin, "normalizer Replace needs pattern.String and content");
  out.push_back({hf_normalizer::kind::replace, *literal, *content, false, false});
  return absl::OkStatus();
}

absl::Status parse_sequence(const json& j, const std::string& origin,
                            std::vector<hf_normalizer::step>& out) {
  const json* list = hf_json::member(j, "normalizers");
  if (list == nullptr || !list->is_array())
    return hf_json::invalid(origin, "normalizer.normalizers is missing or not an array");
  for (const auto& item : *list) {
    if (auto status = parse_step(item, origin, out); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status parse_step(const json& j, const std::string& origin, std::vector<hf_normalizer::step>& out) {
  const std::string type = hf_json::type_of(j);
  if (type.empty()) return hf_json::invalid(origin, "normalizer has no \"type\"");
  if (type == "Sequence") return parse_sequence(j, origin, out);
  if (type == "Replace") return parse_replace(j, origin, out);
  if (type == "NFC") return absl::OkStatus();  // identity: see the header
  if (type == "Lowercase") {
    out.push_back({hf_normalizer::kind::lowercase, "", "", false, false});
    return absl::OkStatus();
  }
  if (type == "Strip") {
    out.push_back({hf_normalizer::kind::strip, "", "", hf_json::bool_member(j, "strip_left", true),
                   hf_json::bool_member(j, "strip_right", true)});
    return absl::OkStatus();
  }
  if (type == "Prepend") {
    auto prepend = hf_json::string_member(j, "prepend");
    if (!prepend) return hf_json::invalid(origin, "normalizer Prepend needs \"prepend\"");
    out.push_back({hf_normalizer::kind::prepend, "", *prepend, false, false});
    return absl::OkStatus();
  }
  if (type == "Precompiled") {
    const json* map = hf_json::member(j, "precompiled_charsmap");
    const bool empty = map == nullptr || map->is_null() || (map->is_string() && map->get<std::string>().empty());
    if (empty) return absl::OkStatus();
    return hf_json::unsupported(origin, "normalizer Precompiled (a SentencePiece charsmap) is not supported");
  }
  return hf_json::unsupported(origin, "normalizer " + type + " is not supported");
}

}  // namespace

char32_t simple_lowercase(char32_t cp) {
  if (cp < 0x80) return cp >= 'A' && cp <= 'Z' ? cp + 0x20 : cp;
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 0x20;
  if (cp >= 0x0100 && cp <= 0x017F) return latin_extended_a_lower(cp);
  if (cp >= 0x0391 && cp <= 0x03A9 && cp != 0x03A2) return cp + 0x20;  // Greek
  if (cp >= 0x0410 && cp <= 0x042F) return cp + 0x20;                  // Cyrillic А..Я
  if (cp >= 0x0400 && cp <= 0x040F) return cp + 0x50;                  // Cyrillic Ѐ..Џ
  return cp;
}

std::string hf_normalizer::apply(std::string_view input) const {
  std::string text(input);
  for (const step& s : steps_) {
    switch (s.what) {
      case kind::lowercase: text = lowercase(text); break;
      case kind::strip: text = std::string(strip(text, s.left, s.right)); break;
      case kind::replace: text = absl::StrReplaceAll(text, {{s.pattern, s.content}}); break;
      case kind::prepend:
        if (!text.empty()) text.insert(0, s.content);  // Hugging Face leaves empty text empty
        break;
    }
  }
  return text;
}

absl::StatusOr<hf_normalizer> parse_hf_normalizer(const json& j, const std::string& origin) {
  if (j.is_null()) return hf_normalizer();
  std::vector<hf_normalizer::step> steps;
  if (auto status = parse_step(j, origin, steps); !status.ok()) return status;
  return hf_normalizer(std::move(steps));
}

}  // namespace alisa::model
