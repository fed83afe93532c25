#pragma once
// Test helpers for the phase planner: a small geometry with round numbers, budgets given in blocks
// per layer, and demands in full blocks.
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <utility>
#include <vector>

#include "scheduler/phase_planner.hpp"

namespace alisa {
// Lets gtest print tiers and phases by name.
inline void PrintTo(kv_tier t, std::ostream* os) { *os << to_string(t); }
inline void PrintTo(kv_phase p, std::ostream* os) { *os << to_string(p); }
}  // namespace alisa

namespace alisa::scheduler::test {

// 2 layers; off device a block is 640 bytes of KV (10 per row) and 320 of hidden states (5 per
// row); in the device pool a block takes 1000 bytes.
inline kv_geometry small_geometry() {
  kv_geometry g;
  g.num_layers = 2;
  g.kv_dim = 4;
  g.hidden_size = 8;
  g.kv_row_bytes = 10;
  g.kv_block_bytes = 640;
  g.device_slot_bytes = 1000;
  g.hidden_block_bytes = 320;
  return g;
}

inline constexpr uint64_t k_layers = 2;
inline constexpr uint64_t k_kv_block = 640;
inline constexpr uint64_t k_hidden_block = 320;
inline constexpr uint64_t k_slot = 1000;

// Device pool bytes for `blocks` blocks per layer.
inline uint64_t device_for(uint64_t blocks) { return blocks * k_slot * k_layers; }
// Store bytes that hold `kv_blocks` KV blocks and `hidden_blocks` hidden blocks per layer.
inline uint64_t store_for(uint64_t kv_blocks, uint64_t hidden_blocks = 0) {
  return (kv_blocks * k_kv_block + hidden_blocks * k_hidden_block) * k_layers;
}

// Fetching always beats recomputing: 1 GB/s links, no latency, a very slow projection.
inline measured_rates fetch_wins() {
  measured_rates r;
  r.recompute_tokens_per_s = 1e3;
  r.host_to_device_gbs = 1;
  r.device_to_host_gbs = 1;
  r.nvme_read_gbs = 1;
  r.nvme_write_gbs = 1;
  return r;
}

// A sequence of `full` full blocks at the end (plus a few tokens in its open block), now half
// way there.
inline sequence_demand demand(uint64_t id, int full) {
  const int final_length = full * kv_block_tokens + 5;
  return {id, final_length / 2, final_length};
}

inline planner_options alisa_options(uint64_t device, uint64_t host, uint64_t nvme) {
  planner_options o;
  o.budgets = {device, host, nvme};
  return o;
}

// Tiers of blocks 0..num_full-1 (oldest first) under `p`.
inline std::vector<kv_tier> tiers_of(const sequence_plan& p, int num_full) {
  std::vector<kv_tier> out;
  for (int i = 0; i < num_full; ++i) out.push_back(p.target_tier(i, num_full));
  return out;
}

// Runs of tiers, oldest first: layout({{7, kv_tier::host}, {3, kv_tier::device}}).
inline std::vector<kv_tier> layout(std::initializer_list<std::pair<int, kv_tier>> runs) {
  std::vector<kv_tier> out;
  for (const auto& [count, tier] : runs) out.insert(out.end(), static_cast<size_t>(count), tier);
  return out;
}

}  // namespace alisa::scheduler::test
