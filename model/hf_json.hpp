#pragma once
// hf_json — small accessors for reading Hugging Face tokenizer.json with nlohmann::json without
// exceptions: a missing member or one of the wrong type reads as absent. Internal to model/.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace alisa::model::hf_json {

using json = nlohmann::json;

inline const json* member(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

inline std::optional<std::string> string_member(const json& j, const char* key) {
  const json* m = member(j, key);
  if (m == nullptr || !m->is_string()) return std::nullopt;
  return m->get<std::string>();
}

inline bool bool_member(const json& j, const char* key, bool fallback) {
  const json* m = member(j, key);
  return m != nullptr && m->is_boolean() ? m->get<bool>() : fallback;
}

// A present, non-null member that is not a boolean is malformed; absent/null give `fallback`.
inline std::optional<bool> strict_bool(const json& j, const char* key, bool fallback) {
  const json* m = member(j, key);
  if (m == nullptr || m->is_null()) return fallback;
  if (!m->is_boolean()) return std::nullopt;
  return m->get<bool>();
}

inline absl::Status invalid(const std::string& origin, const std::string& problem) {
  return absl::InvalidArgumentError(absl::StrCat(origin, ": ", problem));
}

inline absl::Status unsupported(const std::string& origin, const std::string& problem) {
  return absl::UnimplementedError(absl::StrCat(origin, ": ", problem));
}

// The "type" of a component, or "" (callers report that by field name).
inline std::string type_of(const json& j) { return string_member(j, "type").value_or(""); }

}  // namespace alisa::model::hf_json
