#include "storage/block_codec.hpp"

#include <libdeflate.h>

#include <cassert>
#include <cstdio>

#include "absl/status/status.h"

namespace alisa::storage {
namespace {

constexpr std::string_view magic = "AKVB";
constexpr size_t crc_offset = 20;

void put_u32(std::string& out, size_t offset, uint32_t value) {
  for (int i = 0; i < 4; ++i) out[offset + i] = static_cast<char>((value >> (8 * i)) & 0xFF);
}

uint32_t get_u32(std::string_view in, size_t offset) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(in[offset + i]);
  return value;
}

uint8_t get_u8(std::string_view in, size_t offset) { return static_cast<uint8_t>(in[offset]); }

// CRC-32 (zlib's polynomial and chaining) of the header up to the crc field, then of the payload.
// libdeflate's CRC uses carry-less multiplication (PCLMUL/AVX-512 where the CPU has them): every
// NVMe read verifies a whole block, so this is on the decode path (zlib's crc32 was 15% of a
// long-context decode's time).
uint32_t block_crc(std::string_view value) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(value.data());
  uint32_t crc = libdeflate_crc32(0, bytes, crc_offset);
  crc = libdeflate_crc32(crc, bytes + block_header_bytes(), value.size() - block_header_bytes());
  return crc;
}

std::string hex32(uint32_t value) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%08x", value);
  return buffer;
}

uint64_t payload_bytes(const block_header& h) { return uint64_t{h.num_tokens} * h.row_bytes + h.stats_bytes; }

block_header read_header(std::string_view value) {
  block_header h;
  h.part = static_cast<kv_part>(get_u8(value, 5));
  h.dtype_code = get_u8(value, 6);
  h.num_tokens = get_u32(value, 8);
  h.row_bytes = get_u32(value, 12);
  h.stats_bytes = get_u32(value, 16);
  return h;
}

absl::Status check_framing(std::string_view value) {
  if (value.size() < block_header_bytes()) {
    return absl::DataLossError("block value truncated: " + std::to_string(value.size()) +
                               " bytes, shorter than the " + std::to_string(block_header_bytes()) +
                               "-byte header");
  }
  if (value.substr(0, magic.size()) != magic) return absl::DataLossError("block value has bad magic");
  if (get_u8(value, 4) != block_format_version) {
    return absl::DataLossError("block value has unknown format version " + std::to_string(get_u8(value, 4)) +
                               " (this build reads " + std::to_string(block_format_version) + ")");
  }
  const uint64_t expected = block_header_bytes() + payload_bytes(read_header(value));
  if (expected != value.size()) {
    return absl::DataLossError(
        std::string(expected > value.size() ? "block value truncated" : "block value has trailing bytes") +
        ": header says " + std::to_string(expected) + " bytes, value has " + std::to_string(value.size()));
  }
  return absl::OkStatus();
}

absl::Status check_crc(std::string_view value) {
  const uint32_t stored = get_u32(value, crc_offset);
  const uint32_t computed = block_crc(value);
  if (stored == computed) return absl::OkStatus();
  return absl::DataLossError("block value checksum mismatch (stored " + hex32(stored) + ", computed " +
                             hex32(computed) + ")");
}

// Fields the checksum cannot vouch for: a value written by a buggy or newer encoder.
absl::Status check_fields(std::string_view value) {
  if (get_u8(value, 5) > static_cast<uint8_t>(kv_part::hidden)) {
    return absl::DataLossError("block value names unknown part " + std::to_string(get_u8(value, 5)));
  }
  if (get_u8(value, 7) != 0) {
    return absl::DataLossError("block value has reserved byte " + std::to_string(get_u8(value, 7)) +
                               ", expected 0");
  }
  return absl::OkStatus();
}

}  // namespace

uint8_t kv_dtype_code(kv_dtype t) {
  switch (t) {
    case kv_dtype::f32:
      return 0;
    case kv_dtype::f16:
      return 1;
    case kv_dtype::bf16:
      return 2;
    case kv_dtype::i8:
      return 3;
  }
  return 0xFF;
}

std::optional<kv_dtype> kv_dtype_from_code(uint8_t code) {
  switch (code) {
    case 0:
      return kv_dtype::f32;
    case 1:
      return kv_dtype::f16;
    case 2:
      return kv_dtype::bf16;
    case 3:
      return kv_dtype::i8;
  }
  return std::nullopt;
}

std::string encode_block(const block_header& header, std::string_view rows, std::string_view stats) {
  assert(rows.size() == uint64_t{header.num_tokens} * header.row_bytes);
  assert(stats.size() == header.stats_bytes);
  std::string out(block_header_bytes(), '\0');
  out.replace(0, magic.size(), magic);
  out[4] = static_cast<char>(block_format_version);
  out[5] = static_cast<char>(header.part);
  out[6] = static_cast<char>(header.dtype_code);
  put_u32(out, 8, header.num_tokens);
  put_u32(out, 12, header.row_bytes);
  put_u32(out, 16, header.stats_bytes);
  out.reserve(block_header_bytes() + rows.size() + stats.size());
  out.append(rows);
  out.append(stats);
  put_u32(out, crc_offset, block_crc(out));
  return out;
}

std::string_view block_view::row(int i) const {
  assert(i >= 0 && static_cast<uint32_t>(i) < header.num_tokens);
  return rows.substr(static_cast<size_t>(i) * header.row_bytes, header.row_bytes);
}

absl::StatusOr<block_view> decode_block(std::string_view value) { return decode_block(value, true); }

absl::StatusOr<block_view> decode_block(std::string_view value, bool verify_checksum) {
  if (auto s = check_framing(value); !s.ok()) return s;
  if (verify_checksum) {
    if (auto s = check_crc(value); !s.ok()) return s;
  }
  if (auto s = check_fields(value); !s.ok()) return s;
  block_view view;
  view.header = read_header(value);
  const size_t rows_bytes = size_t{view.header.num_tokens} * view.header.row_bytes;
  view.rows = value.substr(block_header_bytes(), rows_bytes);
  view.stats = value.substr(block_header_bytes() + rows_bytes);
  return view;
}

}  // namespace alisa::storage
