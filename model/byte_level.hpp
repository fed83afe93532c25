#pragma once
// byte_level — GPT-2's bytes_to_unicode: byte-level BPE vocabularies spell every byte as one
// printable code point (printable Latin-1 bytes as themselves, the rest as U+0100.., so the space
// 0x20 is "Ġ" U+0120 and the newline 0x0A is "Ċ" U+010A).
#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace alisa::model::byte_level {

// The code point standing for byte b.
char32_t byte_to_code_point(unsigned char b);
// The byte a code point stands for, or nullopt when it is not one of the 256.
std::optional<unsigned char> code_point_to_byte(char32_t cp);

// Raw bytes -> their byte-level spelling (UTF-8).
std::string encode(std::string_view bytes);
// Byte-level spelling -> raw bytes; code points outside the mapping are kept as UTF-8.
std::string decode(std::string_view spelled);

}  // namespace alisa::model::byte_level
