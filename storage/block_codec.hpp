#pragma once
// block_codec — the byte layout of one stored value: a fixed header, the block's token rows, and
// the rows' statistics (int8 minimum/scale; empty for fp32/fp16/bf16). Storage treats rows and
// statistics as opaque bytes; the header carries enough to check them and to slice rows.
//
// Layout (docs/formats.md, "KV blocks in the host and NVMe tiers"), little-endian, 24 bytes:
//   offset  0  magic "AKVB"              offset 12  row_bytes   u32
//   offset  4  version u8 (= 1)           offset 16  stats_bytes u32
//   offset  5  part u8 (kv_part)          offset 20  crc32       u32
//   offset  6  dtype_code u8
//   offset  7  reserved u8 (= 0)
//   offset  8  num_tokens u32
// then num_tokens * row_bytes bytes of rows, then stats_bytes bytes of statistics.
// crc32 is zlib's CRC-32 of header bytes [0, 20) followed by the payload: covering the header
// too means a flipped part, dtype or length byte is caught, not only a flipped payload byte.
//
// Values are encoded before a store's put and decoded after its get, so the stores stay opaque
// (a test can put corrupt bytes and see decode_block reject them). Pure functions; no state.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "proto/kv_dtype.hpp"
#include "proto/kv_tier.hpp"

namespace alisa::storage {

constexpr size_t block_header_bytes() { return 24; }
inline constexpr uint8_t block_format_version = 1;

struct block_header {
  kv_part part = kv_part::keys;
  uint8_t dtype_code = 0;  // kv_dtype_code() of the rows' element type
  uint32_t num_tokens = 0;
  uint32_t row_bytes = 0;
  uint32_t stats_bytes = 0;

  bool operator==(const block_header&) const = default;
};

// Stable on-disk codes for kv_dtype (the enum's own values are not a format): fp32 0, fp16 1,
// bf16 2, int8 3.
uint8_t kv_dtype_code(kv_dtype t);
std::optional<kv_dtype> kv_dtype_from_code(uint8_t code);

// Precondition: rows.size() == num_tokens * row_bytes and stats.size() == stats_bytes.
std::string encode_block(const block_header& header, std::string_view rows, std::string_view stats);

// A decoded value. The views point into the string that was decoded and live as long as it does.
struct block_view {
  block_header header;
  std::string_view rows;
  std::string_view stats;

  // Token i's row, 0 <= i < header.num_tokens.
  std::string_view row(int i) const;
};

// The value's parts, or absl::DataLossError naming the problem (bad magic, unknown version,
// truncated or trailing bytes, checksum mismatch, unknown part, nonzero reserved byte). Safe on
// arbitrary bytes.
absl::StatusOr<block_view> decode_block(std::string_view value);
// As above; with verify_checksum false the payload CRC is not computed (framing and fields are
// still checked). For values held in host RAM, which a token-granular fetch must not read whole.
absl::StatusOr<block_view> decode_block(std::string_view value, bool verify_checksum);

}  // namespace alisa::storage
