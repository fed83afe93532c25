// sequence_plan — reading a plan's tier counts as per-block tiers (sequence_plan.hpp has the
// layout).
#include "scheduler/sequence_plan.hpp"

#include <cassert>

namespace alisa::scheduler {

kv_tier sequence_plan::target_tier(int block_index, int num_full_blocks) const {
  assert(block_index >= 0);
  if (block_index >= num_full_blocks) return kv_tier::device;
  // 64-bit sums: device_blocks may be INT_MAX.
  const int64_t age = int64_t{num_full_blocks} - 1 - block_index;  // 0 = newest full block
  const int64_t past_host = int64_t{device_blocks} + host_blocks;
  if (age < device_blocks) return kv_tier::device;
  if (age < past_host) return kv_tier::host;
  if (age < past_host + nvme_blocks) return kv_tier::nvme;
  return kv_tier::dropped;
}

kv_phase sequence_plan::phase_at(int num_full_blocks) const {
  if (num_full_blocks <= 0) return kv_phase::one;
  switch (target_tier(0, num_full_blocks)) {  // the oldest block is the furthest out
    case kv_tier::device: return kv_phase::one;
    case kv_tier::dropped: return kv_phase::three;
    case kv_tier::host:
    case kv_tier::nvme: break;
  }
  return kv_phase::two;
}

}  // namespace alisa::scheduler
