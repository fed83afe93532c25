#pragma once
// prefix_cache_types — what the prefix cache (prefix_cache.hpp) and its levels below host RAM
// (prefix_store_level.hpp, prefix_block_codec.hpp) hold: content-addressed blocks of prompt K/V.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "proto/kv_tier.hpp"

namespace alisa::engine {

// A chained 128-bit hash: a block's key covers its tokens and its parent's key, the root's the
// model identity (prefix_cache.hpp).
struct prefix_key {
  uint64_t hi = 0, lo = 0;
  bool operator==(const prefix_key&) const = default;
};

// One kv_block_tokens-token block of a prompt, every layer: keys and values fp32
// [layer][kv_block_tokens][kv_dim]; hidden [layer][kv_block_tokens][hidden_size] when kept (a
// tiered engine recomputes from it), else empty.
struct prefix_block {
  prefix_key key, parent;
  uint32_t depth = 0;  // its index in the prompt: block 0 covers positions 0..63
  std::array<int32_t, kv_block_tokens> tokens{};
  std::vector<float> keys, values, hidden;
  size_t num_bytes() const { return (keys.size() + values.size() + hidden.size()) * sizeof(float); }
};

struct prefix_cache_shape {
  int num_layers = 0;
  int kv_dim = 0;
  int hidden_size = 0;
  bool keep_hidden = false;
  // What recomputing a block costs, for eviction (relative units; both 0 = every block alike):
  // FLOPs per token of everything but attention, and per (token, earlier key) of attention.
  double linear_flops_per_token = 0;
  double attention_flops_per_key = 0;

  // The FLOPs of prefilling block `depth` again (its 64 rows attend to the positions before).
  double recompute_cost(uint32_t depth) const {
    const double keys = kv_block_tokens * (depth + 0.5);
    return kv_block_tokens * (linear_flops_per_token + attention_flops_per_key * keys);
  }

  size_t block_floats() const {  // keys (or values) of one block, every layer
    return static_cast<size_t>(num_layers) * kv_block_tokens * kv_dim;
  }
  size_t hidden_floats() const {
    return keep_hidden ? static_cast<size_t>(num_layers) * kv_block_tokens * hidden_size : 0;
  }
};

// A block a lookup wants: its key, its parent's, and its 64 tokens (viewing the prompt).
struct prefix_wanted {
  prefix_key key, parent;
  std::span<const int32_t> tokens;
};

// Where a cached block was found.
enum class prefix_tier : uint8_t { host = 0, nvme = 1, memory_node = 2 };
inline constexpr int num_prefix_tiers = 3;

constexpr std::string_view to_string(prefix_tier t) {
  switch (t) {
    case prefix_tier::host: return "host";
    case prefix_tier::nvme: return "nvme";
    case prefix_tier::memory_node: return "memory_node";
  }
  return "?";
}

}  // namespace alisa::engine
