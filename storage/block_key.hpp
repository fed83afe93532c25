#pragma once
// block_key — the address of one stored value in a host (RAM) or NVMe (RocksDB) tier, and its
// byte encoding. The encoding is the store's key: both stores order keys bytewise, so the
// encoding decides what a range is.
//
// Encoding (docs/formats.md, "KV blocks in the host and NVMe tiers"): exactly 15 bytes,
// big-endian, sequence(8) layer(2) part(1) block(4). Big-endian makes bytewise order equal
// (sequence, layer, part, block) order, so every key of one sequence forms one contiguous range
// and dropping a finished sequence is one range erase.
//
// Pure functions; no state.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proto/kv_tier.hpp"

namespace alisa::storage {

struct block_key {
  uint64_t sequence = 0;
  uint16_t layer = 0;
  kv_part part = kv_part::keys;
  uint32_t block = 0;  // block index within the (sequence, layer): positions block*64 ..

  bool operator==(const block_key&) const = default;
};

inline constexpr size_t encoded_key_bytes = 15;

std::string encode_key(const block_key& key);
// nullopt when `bytes` is not 15 bytes long or names an unknown part.
std::optional<block_key> decode_key(std::string_view bytes);

// The half-open range [sequence_begin_key(s), sequence_end_key(s)) holds every key of sequence s
// and no key of any other sequence. begin is the 8 big-endian sequence bytes followed by seven
// 0x00 (the smallest key of s); end is the 8 sequence bytes followed by eight 0xFF: one byte
// longer than a key, so it sorts after every 15-byte string with that prefix and before every key
// of s + 1. It needs no s + 1, so it also works for s = UINT64_MAX.
std::string sequence_begin_key(uint64_t sequence);
std::string sequence_end_key(uint64_t sequence);

// "sequence 7 layer 2 keys block 3": for error messages.
std::string to_string(const block_key& key);

}  // namespace alisa::storage
