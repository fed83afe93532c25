#include "storage/block_key.hpp"

namespace alisa::storage {
namespace {

constexpr size_t sequence_bytes = 8;

void append_big_endian(std::string& out, uint64_t value, int num_bytes) {
  for (int i = num_bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

uint64_t read_big_endian(std::string_view bytes, size_t offset, int num_bytes) {
  uint64_t value = 0;
  for (int i = 0; i < num_bytes; ++i) value = (value << 8) | static_cast<uint8_t>(bytes[offset + i]);
  return value;
}

std::optional<kv_part> part_from_byte(uint64_t byte) {
  switch (byte) {
    case static_cast<uint64_t>(kv_part::keys):
      return kv_part::keys;
    case static_cast<uint64_t>(kv_part::values):
      return kv_part::values;
    case static_cast<uint64_t>(kv_part::hidden):
      return kv_part::hidden;
    case static_cast<uint64_t>(kv_part::prefix):
      return kv_part::prefix;
  }
  return std::nullopt;
}

}  // namespace

std::string encode_key(const block_key& key) {
  std::string out;
  out.reserve(encoded_key_bytes);
  append_big_endian(out, key.sequence, 8);
  append_big_endian(out, key.layer, 2);
  append_big_endian(out, static_cast<uint8_t>(key.part), 1);
  append_big_endian(out, key.block, 4);
  return out;
}

std::optional<block_key> decode_key(std::string_view bytes) {
  if (bytes.size() != encoded_key_bytes) return std::nullopt;
  const auto part = part_from_byte(read_big_endian(bytes, 10, 1));
  if (!part) return std::nullopt;
  block_key key;
  key.sequence = read_big_endian(bytes, 0, 8);
  key.layer = static_cast<uint16_t>(read_big_endian(bytes, 8, 2));
  key.part = *part;
  key.block = static_cast<uint32_t>(read_big_endian(bytes, 11, 4));
  return key;
}

std::string sequence_begin_key(uint64_t sequence) {
  std::string out;
  append_big_endian(out, sequence, 8);
  out.append(encoded_key_bytes - sequence_bytes, '\0');
  return out;
}

std::string sequence_end_key(uint64_t sequence) {
  std::string out;
  append_big_endian(out, sequence, 8);
  out.append(encoded_key_bytes + 1 - sequence_bytes, '\xFF');
  return out;
}

std::string to_string(const block_key& key) {
  return "sequence " + std::to_string(key.sequence) + " layer " + std::to_string(key.layer) + " " +
         std::string(alisa::to_string(key.part)) + " block " + std::to_string(key.block);
}

}  // namespace alisa::storage
