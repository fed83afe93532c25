#include "model/utf8.hpp"

namespace alisa::model::utf8 {
namespace {

// Sequence length announced by a lead byte; 0 for continuation bytes and bytes that never start
// a valid sequence (C0, C1: overlong 2-byte forms; F5..FF: beyond U+10FFFF).
int lead_length(unsigned char b) {
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return 2;
  if (b >= 0xE0 && b <= 0xEF) return 3;
  if (b >= 0xF0 && b <= 0xF4) return 4;
  return 0;
}

// The second byte's allowed range depends on the lead byte: this is what rules out overlong
// encodings, surrogates (ED A0..BF) and code points above U+10FFFF.
bool second_byte_ok(unsigned char lead, unsigned char b) {
  switch (lead) {
    case 0xE0: return b >= 0xA0 && b <= 0xBF;
    case 0xED: return b >= 0x80 && b <= 0x9F;
    case 0xF0: return b >= 0x90 && b <= 0xBF;
    case 0xF4: return b >= 0x80 && b <= 0x8F;
    default: return b >= 0x80 && b <= 0xBF;
  }
}

}  // namespace

int check_sequence(std::string_view s, std::size_t pos) {
  const auto lead = static_cast<unsigned char>(s[pos]);
  const int len = lead_length(lead);
  if (len == 0) return -1;
  for (int i = 1; i < len; ++i) {
    if (pos + i >= s.size()) return 0;  // valid so far, the rest has not arrived yet
    const auto b = static_cast<unsigned char>(s[pos + i]);
    const bool ok = i == 1 ? second_byte_ok(lead, b) : (b >= 0x80 && b <= 0xBF);
    if (!ok) return -1;
  }
  return len;
}

std::size_t decode(std::string_view s, std::size_t pos, char32_t& cp) {
  const int len = check_sequence(s, pos);
  if (len <= 0) {
    cp = replacement_char;
    return 1;
  }
  const auto lead = static_cast<unsigned char>(s[pos]);
  static constexpr unsigned char lead_mask[5] = {0, 0x7F, 0x1F, 0x0F, 0x07};
  char32_t value = lead & lead_mask[len];
  for (int i = 1; i < len; ++i) value = (value << 6) | (static_cast<unsigned char>(s[pos + i]) & 0x3F);
  cp = value;
  return static_cast<std::size_t>(len);
}

void append(std::string& out, char32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = replacement_char;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace alisa::model::utf8
