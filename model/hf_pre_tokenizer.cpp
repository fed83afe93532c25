#include "model/hf_pre_tokenizer.hpp"

#include "model/hf_json.hpp"
#include "model/utf8.hpp"

namespace alisa::model {
namespace {

using hf_json::json;

std::vector<std::string> whitespace_split(std::string_view text) {
  std::vector<std::string> words;
  std::string current;
  std::size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp;
    const std::size_t len = utf8::decode(text, pos, cp);
    if (is_unicode_whitespace(cp)) {
      if (!current.empty()) words.push_back(std::move(current));
      current.clear();
    } else {
      current.append(text, pos, len);
    }
    pos += len;
  }
  if (!current.empty()) words.push_back(std::move(current));
  return words;
}

std::vector<std::string> apply_step(const hf_pre_tokenizer::step& s, const std::string& piece,
                                    bool first_section) {
  switch (s.what) {
    case hf_pre_tokenizer::kind::byte_level_prefix:
      return {piece.empty() || piece.front() == ' ' ? piece : " " + piece};
    case hf_pre_tokenizer::kind::regex: {
      std::vector<std::string> out;
      for (auto part : pretokenize(piece, s.rule)) out.emplace_back(part);
      return out;
    }
    case hf_pre_tokenizer::kind::metaspace:
      return metaspace_pre_tokenize(piece, s.metaspace, first_section);
    case hf_pre_tokenizer::kind::whitespace_split:
      return whitespace_split(piece);
  }
  return {piece};
}

absl::StatusOr<metaspace_options> parse_metaspace(const json& j, const std::string& origin) {
  metaspace_options options;
  if (auto replacement = hf_json::string_member(j, "replacement")) options.replacement = *replacement;
  const auto legacy_prefix = hf_json::strict_bool(j, "add_prefix_space", true);
  const auto split = hf_json::strict_bool(j, "split", true);
  if (!legacy_prefix || !split)
    return hf_json::invalid(origin, "Metaspace add_prefix_space/split must be booleans");
  options.split = *split;
  const auto scheme = hf_json::string_member(j, "prepend_scheme").value_or("always");
  if (!*legacy_prefix || scheme == "never") {
    options.scheme = metaspace_options::prepend::never;
  } else if (scheme == "first") {
    options.scheme = metaspace_options::prepend::first;
  } else if (scheme != "always") {
    return hf_json::invalid(origin, "Metaspace prepend_scheme \"" + scheme + "\" is unknown");
  }
  return options;
}

struct parse_state {
  std::vector<hf_pre_tokenizer::step> steps;
  bool byte_level = false;
};

absl::Status parse_step(const json& j, const std::string& origin, parse_state& state);

absl::Status parse_byte_level(const json& j, parse_state& state) {
  state.byte_level = true;
  if (hf_json::bool_member(j, "add_prefix_space", false))
    state.steps.push_back(hf_pre_tokenizer::step::of(hf_pre_tokenizer::kind::byte_level_prefix));
  if (hf_json::bool_member(j, "use_regex", true))
    state.steps.push_back(hf_pre_tokenizer::step::split(split_rule{split_rule::family::gpt2, 0}));
  return absl::OkStatus();
}

absl::Status parse_split(const json& j, const std::string& origin, parse_state& state) {
  const json* pattern = hf_json::member(j, "pattern");
  const auto regex = pattern ? hf_json::string_member(*pattern, "Regex") : std::nullopt;
  auto rule = regex ? recognise_split_regex(*regex) : std::nullopt;
  if (!rule) return hf_json::unsupported(origin, "unsupported pre_tokenizer Split pattern");
  state.steps.push_back(hf_pre_tokenizer::step::split(*rule));
  return absl::OkStatus();
}

absl::Status parse_step(const json& j, const std::string& origin, parse_state& state) {
  const std::string type = hf_json::type_of(j);
  if (type == "Sequence") {
    const json* list = hf_json::member(j, "pretokenizers");
    if (list == nullptr || !list->is_array())
      return hf_json::invalid(origin, "pre_tokenizer.pretokenizers is missing or not an array");
    for (const auto& item : *list) {
      if (auto status = parse_step(item, origin, state); !status.ok()) return status;
    }
    return absl::OkStatus();
  }
  if (type == "ByteLevel") return parse_byte_level(j, state);
  if (type == "Split") return parse_split(j, origin, state);
  if (type == "WhitespaceSplit") {
    state.steps.push_back(hf_pre_tokenizer::step::of(hf_pre_tokenizer::kind::whitespace_split));
    return absl::OkStatus();
  }
  if (type == "Metaspace") {
    auto options = parse_metaspace(j, origin);
    if (!options.ok()) return options.status();
    state.steps.push_back(hf_pre_tokenizer::step::meta(*options));
    return absl::OkStatus();
  }
  if (type.empty()) return hf_json::invalid(origin, "pre_tokenizer has no \"type\"");
  return hf_json::unsupported(origin, "unsupported pre_tokenizer \"" + type + "\"");
}

}  // namespace

std::optional<split_rule> recognise_split_regex(std::string_view regex) {
  if (regex.find("[^\\r\\n\\p{L}\\p{N}]?\\p{L}+") != std::string_view::npos) {
    if (regex.find("\\p{N}{1,3}") != std::string_view::npos)
      return split_rule{split_rule::family::llama3, 3};
    if (regex.find("|\\p{N}|") != std::string_view::npos)
      return split_rule{split_rule::family::llama3, 1};
    return std::nullopt;
  }
  if (regex == "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+")
    return split_rule{split_rule::family::gpt2, 0};
  return std::nullopt;
}

std::vector<std::string> hf_pre_tokenizer::apply(std::string_view section, bool first_section) const {
  if (section.empty()) return {};
  std::vector<std::string> pieces = {std::string(section)};
  for (const step& s : steps_) {
    std::vector<std::string> finer;
    for (const auto& piece : pieces) {
      auto split = apply_step(s, piece, first_section);
      for (auto& part : split) {
        if (!part.empty()) finer.push_back(std::move(part));
      }
    }
    pieces = std::move(finer);
  }
  return pieces;
}

absl::StatusOr<hf_pre_tokenizer> parse_hf_pre_tokenizer(const json& j, const std::string& origin) {
  if (j.is_null()) return hf_pre_tokenizer();
  parse_state state;
  if (auto status = parse_step(j, origin, state); !status.ok()) return status;
  return hf_pre_tokenizer(std::move(state.steps), state.byte_level);
}

}  // namespace alisa::model
