#pragma once
// prefix_block_codec — a prefix_block (prefix_cache.hpp) as bytes, for the levels of the prefix
// cache below host RAM (NVMe, memory nodes), and its address there.
//
// Value layout (little-endian; docs/formats.md, "Prefix cache blocks"):
//   "APFX" | version u32 (1) | key hi,lo u64 | parent hi,lo u64 | depth u32 |
//   kv floats per token u32 (num_layers × kv_dim) | hidden floats per token u32 (0 = none) |
//   64 token ids i32 | keys f32[] | values f32[] | hidden f32[] (the prefix_block layouts) |
//   crc32 u32 over everything before it
// Decoding checks the frame (magic, version, sizes, CRC) and then that the block is the one
// asked for: its key, parent key and tokens, and the cache's shape. Anything else is a
// corrupt or foreign value, which the cache treats as a miss (and recomputes), never serves.
//
// Pure functions; no state.
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/prefix_cache_types.hpp"
#include "storage/block_key.hpp"

namespace alisa::engine {

// The store key of a prefix block: part kv_part::prefix (never a sequence's keys, values or
// hidden), 112 of the key's 128 bits (the stored block carries all of them, and decode checks).
storage::block_key prefix_store_key(const prefix_key& key);

std::string encode_prefix_block(const prefix_block& block);

// The block `key` (child of `parent`, holding `tokens`) of `shape`, from `bytes`: DataLoss naming
// what is wrong for a damaged frame; FailedPrecondition for a sound frame that is another block
// (a collision) or does not fit `shape` (another model, or no hidden rows where shape keeps them).
// Hidden rows stored for a tiered engine are dropped when `shape` does not keep them.
absl::StatusOr<prefix_block> decode_prefix_block(std::string_view bytes, const prefix_key& key,
                                                 const prefix_key& parent,
                                                 std::span<const int32_t> tokens,
                                                 const prefix_cache_shape& shape);

}  // namespace alisa::engine
