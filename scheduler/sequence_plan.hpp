#pragma once
// sequence_plan — where one sequence's KV blocks should live, as the phase planner decides and the
// tiered store (actors/) carries out; and sequence_demand, what a planner or admission policy
// knows about a sequence.
//
// A plan counts FULL blocks (kv_block_tokens positions each) from the NEWEST backwards, and is the
// same for every layer. The open, partially filled block always stays on device.
//
//   oldest                                                              newest   open
//   [ dropped ... | nvme_blocks ... | host_blocks ... | device_blocks ... ] [ partial ]
//
// Because the counts are fixed and the sequence grows, a block moves right to left through the
// tiers as newer blocks fill: device -> host -> NVMe -> dropped (K/V deleted; recomputed from the
// stored hidden states when a step selects its tokens; phase III).
#include <climits>
#include <cstdint>

#include "proto/kv_tier.hpp"

namespace alisa::scheduler {

// Tokens now (length) and at the end (final_length = prompt + max new tokens). Invariant:
// 0 <= length <= final_length.
struct sequence_demand {
  uint64_t sequence = 0;
  int length = 0;
  int final_length = 0;
};

// Full blocks of a sequence of `tokens` tokens (the open block excluded).
constexpr int full_blocks(int tokens) { return tokens / kv_block_tokens; }

struct sequence_plan {
  uint64_t sequence = 0;
  kv_phase phase = kv_phase::one;  // the phase at final length (phase_at(full_blocks(final)))
  int device_blocks = INT_MAX;     // INT_MAX = unbounded
  int host_blocks = 0;
  int nvme_blocks = 0;
  // Hidden states of every full block that is not on device are kept (in hidden_tier), so a
  // dropped block - or one whose load failed - can be recomputed. Blocks on device need none.
  bool store_hidden = false;
  kv_tier hidden_tier = kv_tier::host;  // host or nvme; meaningful only when store_hidden

  // The tier block `block_index` (0 = oldest) should be in while the sequence has
  // `num_full_blocks` full blocks. Indices at or past num_full_blocks are the open block: device.
  // Precondition: block_index >= 0.
  kv_tier target_tier(int block_index, int num_full_blocks) const;
  // I while every full block is on device, III once any is dropped, II in between.
  kv_phase phase_at(int num_full_blocks) const;
};

}  // namespace alisa::scheduler
