#pragma once
// number_text — numbers in option errors and plan reasons, without locales or streams.
#include <array>
#include <charconv>
#include <string>

namespace alisa::scheduler {

// Shortest text that reads back as `value` ("0.5", "1", "nan", "inf").
inline std::string format_number(double value) {
  std::array<char, 32> text{};
  auto [end, ec] = std::to_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc()) return "?";
  return std::string(text.data(), end);
}

// `value` with `digits` decimals ("3.10"); "inf" / "nan" as they are.
inline std::string format_fixed(double value, int digits) {
  std::array<char, 64> text{};
  auto [end, ec] = std::to_chars(text.data(), text.data() + text.size(), value,
                                 std::chars_format::fixed, digits);
  if (ec != std::errc()) return "?";
  return std::string(text.data(), end);
}

}  // namespace alisa::scheduler
