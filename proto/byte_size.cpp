#include "proto/byte_size.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace alisa {
namespace {

struct unit {
  std::string_view name;
  double factor;
};

// Case-insensitive; "" means bytes.
constexpr unit kUnits[] = {
    {"", 1.0},        {"b", 1.0},
    {"k", 0x1p10},    {"kib", 0x1p10}, {"kb", 1e3},
    {"m", 0x1p20},    {"mib", 0x1p20}, {"mb", 1e6},
    {"g", 0x1p30},    {"gib", 0x1p30}, {"gb", 1e9},
    {"t", 0x1p40},    {"tib", 0x1p40}, {"tb", 1e12},
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<double> unit_factor(std::string_view suffix) {
  const std::string name = lower(suffix);
  for (const auto& u : kUnits)
    if (u.name == name) return u.factor;
  return std::nullopt;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<uint64_t> parse_byte_size(std::string_view text, std::string& error) {
  const std::string_view s = trim(text);
  std::string quoted(1, '\'');
  quoted.append(text.data(), text.size());
  quoted.push_back('\'');
  if (s.empty()) {
    error = "empty size (expected e.g. 512MiB, 8GiB, 4096)";
    return std::nullopt;
  }
  size_t digits = 0;
  while (digits < s.size() && (std::isdigit(static_cast<unsigned char>(s[digits])) || s[digits] == '.'))
    ++digits;
  double number = 0.0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + digits, number);
  if (digits == 0 || ec != std::errc{} || end != s.data() + digits || !std::isfinite(number)) {
    error = quoted + ": not a size (expected a non-negative number and a unit, e.g. 512MiB)";
    return std::nullopt;
  }
  const std::string_view suffix = trim(s.substr(digits));
  const auto factor = unit_factor(suffix);
  if (!factor) {
    error = quoted + ": unknown unit '" + std::string(suffix) +
            "' (use B, KiB, MiB, GiB, TiB, or kB, MB, GB, TB)";
    return std::nullopt;
  }
  const double bytes = std::round(number * *factor);
  if (bytes >= 0x1p63) {
    error = quoted + ": too large";
    return std::nullopt;
  }
  return static_cast<uint64_t>(bytes);
}

std::string format_byte_size(uint64_t bytes) {
  static constexpr const char* kNames[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int u = 0;
  while (value >= 1024.0 && u < 4) {
    value /= 1024.0;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else
    std::snprintf(buf, sizeof buf, "%.2f %s", value, kNames[u]);
  return buf;
}

}  // namespace alisa
