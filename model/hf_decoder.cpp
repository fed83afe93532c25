#include "model/hf_decoder.hpp"

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "model/hf_json.hpp"
#include "model/special_pieces.hpp"

namespace alisa::model {
namespace {

using hf_json::json;

absl::Status parse_step(const json& j, const std::string& origin, hf_decoder& out);

absl::Status parse_replace(const json& j, const std::string& origin, hf_decoder& out) {
  const json* pattern = hf_json::member(j, "pattern");
  if (pattern != nullptr && hf_json::member(*pattern, "Regex") != nullptr)
    return hf_json::unsupported(origin, "decoder Replace with a Regex pattern is not supported");
  auto literal = pattern ? hf_json::string_member(*pattern, "String") : std::nullopt;
  auto content = hf_json::string_member(j, "content");
  if (!literal || literal->empty() || !content)
    return hf_json::invalid(origin, "decoder Replace needs pattern.String and content");
  out.replacements.emplace_back(*literal, *content);
  return absl::OkStatus();
}

absl::Status parse_strip(const json& j, const std::string& origin, hf_decoder& out) {
  const json* start = hf_json::member(j, "start");
  const json* stop = hf_json::member(j, "stop");
  auto content = hf_json::string_member(j, "content");
  if (start == nullptr || !start->is_number_unsigned() || !content || content->empty())
    return hf_json::invalid(origin, "decoder Strip needs content and a non-negative start");
  if (stop != nullptr && !(stop->is_number_integer() && stop->get<std::int64_t>() == 0))
    return hf_json::unsupported(origin, "decoder Strip with stop > 0 is not supported");
  out.strip_content = *content;
  out.strip_start = static_cast<int>(std::min<std::uint64_t>(start->get<std::uint64_t>(), 64));
  return absl::OkStatus();
}

absl::Status parse_metaspace(const json& j, hf_decoder& out) {
  const std::string replacement = hf_json::string_member(j, "replacement").value_or("\xE2\x96\x81");
  const bool prefix = hf_json::bool_member(j, "add_prefix_space", true) &&
                      hf_json::string_member(j, "prepend_scheme").value_or("always") != "never";
  if (replacement.empty()) return absl::OkStatus();
  if (prefix) out.first_token_drop = replacement;
  out.replacements.emplace_back(replacement, " ");
  return absl::OkStatus();
}

absl::Status parse_step(const json& j, const std::string& origin, hf_decoder& out) {
  const std::string type = hf_json::type_of(j);
  if (type == "Sequence") {
    const json* list = hf_json::member(j, "decoders");
    if (list == nullptr || !list->is_array())
      return hf_json::invalid(origin, "decoder.decoders is missing or not an array");
    for (const auto& item : *list) {
      if (auto status = parse_step(item, origin, out); !status.ok()) return status;
    }
    return absl::OkStatus();
  }
  if (type == "Replace") return parse_replace(j, origin, out);
  if (type == "Strip") return parse_strip(j, origin, out);
  if (type == "Metaspace") return parse_metaspace(j, out);
  if (type == "ByteFallback") {
    out.byte_fallback = true;
    return absl::OkStatus();
  }
  if (type == "Fuse") return absl::OkStatus();
  if (type.empty()) return hf_json::invalid(origin, "decoder has no \"type\"");
  return hf_json::unsupported(origin, "decoder " + type + " is not supported");
}

}  // namespace

std::string hf_decoder::surface(std::string_view piece, bool first) const {
  if (byte_fallback) {
    if (auto b = byte_piece_value(piece)) {
      std::string byte(1, static_cast<char>(*b));
      if (first && strip_start > 0 && byte == strip_content) return {};
      return byte;
    }
  }
  std::string text(piece);
  if (first && !first_token_drop.empty()) text = absl::StrReplaceAll(text, {{first_token_drop, ""}});
  for (const auto& [from, to] : replacements) text = absl::StrReplaceAll(text, {{from, to}});
  for (int i = 0; first && i < strip_start && absl::StartsWith(text, strip_content); ++i)
    text.erase(0, strip_content.size());
  return text;
}

absl::StatusOr<hf_decoder> parse_hf_decoder(const json& j, const std::string& origin) {
  hf_decoder decoder;
  if (j.is_null()) return decoder;
  if (auto status = parse_step(j, origin, decoder); !status.ok()) return status;
  return decoder;
}

}  // namespace alisa::model
