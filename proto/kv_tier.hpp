#pragma once
// kv_tier — where a (sequence, layer, block) of KV lives, and what each tier did (observability).
// Shared by scheduler/ (plans), storage/ (stores) and actors/ (the tiered store that moves blocks).
//
// Words (README glossary): a *block* is kv_block_tokens consecutive positions of one sequence and
// one layer; the *device* tier is the backend's KV pool (GPU memory on CUDA, an arena on the CPU
// backend); *host* is a RAM store; *nvme* is a RocksDB store; *dropped* means the K/V were deleted
// and are recomputed from the stored hidden states when a step selects them (phase III).
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace alisa {

enum class kv_tier : uint8_t { device = 0, host = 1, nvme = 2, dropped = 3 };
inline constexpr int num_kv_tiers = 4;

constexpr std::string_view to_string(kv_tier t) {
  switch (t) {
    case kv_tier::device: return "device";
    case kv_tier::host: return "host";
    case kv_tier::nvme: return "nvme";
    case kv_tier::dropped: return "dropped";
  }
  return "?";
}

// What a stored value holds: one block of keys, of values, or of hidden states (the per-layer
// normalised input that K/V recomputation starts from); or one cached prompt-prefix block of
// every layer (engine/prefix_block_codec.hpp), whose key is content-addressed rather than a
// sequence's. Only keys, values and hidden values are block_codec frames.
enum class kv_part : uint8_t { keys = 0, values = 1, hidden = 2, prefix = 3 };

constexpr std::string_view to_string(kv_part p) {
  switch (p) {
    case kv_part::keys: return "keys";
    case kv_part::values: return "values";
    case kv_part::hidden: return "hidden";
    case kv_part::prefix: return "prefix";
  }
  return "?";
}

// Tokens per storage block. Equal to kv_chunk_tokens so an int8 block is exactly one quantisation
// chunk (its statistics travel with it).
inline constexpr int kv_block_tokens = 64;

// The three phases of ALISA's scheduling, per sequence (docs/tiers.md).
enum class kv_phase : uint8_t { one = 1, two = 2, three = 3 };

constexpr std::string_view to_string(kv_phase p) {
  switch (p) {
    case kv_phase::one: return "I";
    case kv_phase::two: return "II";
    case kv_phase::three: return "III";
  }
  return "?";
}

// Per-tier counters. "Resident" bytes are what the tier holds now (peak: the most it held);
// tokens_loaded / bytes_read count token rows moved out of the tier for a step's attention (or,
// for hidden states, for recomputation); bytes_written counts what was stored into it; a hit is a
// token row found and valid, a miss one that was wanted but absent or corrupt (and so recomputed).
struct tier_stats {
  uint64_t bytes_resident = 0;
  uint64_t peak_bytes_resident = 0;
  uint64_t tokens_loaded = 0;
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  uint64_t hits = 0;
  uint64_t misses = 0;

  void add_resident(uint64_t bytes) {
    bytes_resident += bytes;
    if (bytes_resident > peak_bytes_resident) peak_bytes_resident = bytes_resident;
  }
  void remove_resident(uint64_t bytes) {
    bytes_resident = bytes > bytes_resident ? 0 : bytes_resident - bytes;
  }
};

using tier_stats_array = std::array<tier_stats, num_kv_tiers>;

}  // namespace alisa
