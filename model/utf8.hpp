#pragma once
// utf8 — small UTF-8 helpers shared by the tokenizers (character splitting, stream reassembly).
#include <cstddef>
#include <string>
#include <string_view>

namespace alisa::model::utf8 {

inline constexpr char32_t replacement_char = 0xFFFD;

// Examines the sequence starting at s[pos]: returns its length (1..4) when it is a complete, valid
// sequence; 0 when it is a valid but truncated prefix (s ends too early); -1 when it is invalid.
int check_sequence(std::string_view s, std::size_t pos);

// Decodes the code point at s[pos] into `cp` and returns the bytes consumed (always >= 1). An
// invalid or truncated sequence yields U+FFFD and consumes one byte, so callers always progress.
std::size_t decode(std::string_view s, std::size_t pos, char32_t& cp);

// Appends the UTF-8 encoding of `cp` (U+FFFD for surrogates / out-of-range values).
void append(std::string& out, char32_t cp);

}  // namespace alisa::model::utf8
