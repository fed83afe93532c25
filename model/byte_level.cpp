#include "model/byte_level.hpp"

#include "model/utf8.hpp"

namespace alisa::model::byte_level {
namespace {

bool maps_to_itself(unsigned char b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
}

struct tables {
  std::array<char32_t, 256> to_cp{};
  std::array<int, 512> to_byte{};  // every mapped code point is below U+0200; -1 = unmapped
  tables() {
    to_byte.fill(-1);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const auto byte = static_cast<unsigned char>(b);
      to_cp[b] = maps_to_itself(byte) ? static_cast<char32_t>(b) : next++;
      to_byte[to_cp[b]] = b;
    }
  }
};

const tables& get_tables() {
  static const tables t;
  return t;
}

}  // namespace

char32_t byte_to_code_point(unsigned char b) { return get_tables().to_cp[b]; }

std::optional<unsigned char> code_point_to_byte(char32_t cp) {
  if (cp >= 512) return std::nullopt;
  const int b = get_tables().to_byte[cp];
  if (b < 0) return std::nullopt;
  return static_cast<unsigned char>(b);
}

std::string encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) utf8::append(out, byte_to_code_point(static_cast<unsigned char>(c)));
  return out;
}

std::string decode(std::string_view spelled) {
  std::string out;
  out.reserve(spelled.size());
  std::size_t pos = 0;
  while (pos < spelled.size()) {
    char32_t cp;
    const std::size_t len = utf8::decode(spelled, pos, cp);
    if (auto b = code_point_to_byte(cp)) {
      out.push_back(static_cast<char>(*b));
    } else {
      out.append(spelled, pos, len);
    }
    pos += len;
  }
  return out;
}

}  // namespace alisa::model::byte_level
