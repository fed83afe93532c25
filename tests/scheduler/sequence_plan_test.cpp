// sequence_plan: block index -> tier, counted from the newest full block; the phase at a length.
#include <gtest/gtest.h>

#include <climits>

#include "scheduler/sequence_plan.hpp"
#include "tests/scheduler/planner_fixtures.hpp"

namespace alisa::scheduler {
namespace {

using test::layout;
using test::tiers_of;

sequence_plan plan_of(int device, int host, int nvme) {
  sequence_plan p;
  p.device_blocks = device;
  p.host_blocks = host;
  p.nvme_blocks = nvme;
  return p;
}

TEST(SequencePlan, DefaultKeepsEverythingOnDevice) {
  const sequence_plan p;
  EXPECT_EQ(p.device_blocks, INT_MAX);
  EXPECT_EQ(tiers_of(p, 1000), layout({{1000, kv_tier::device}}));
  EXPECT_EQ(p.phase_at(1000), kv_phase::one);
}

TEST(SequencePlan, NewestOnDeviceThenHostThenNvmeThenDropped) {
  const sequence_plan p = plan_of(3, 2, 4);
  EXPECT_EQ(tiers_of(p, 12), layout({{3, kv_tier::dropped},
                                     {4, kv_tier::nvme},
                                     {2, kv_tier::host},
                                     {3, kv_tier::device}}));
  EXPECT_EQ(p.phase_at(12), kv_phase::three);
}

TEST(SequencePlan, BlocksMoveOutAsTheSequenceGrows) {
  const sequence_plan p = plan_of(3, 2, 4);
  EXPECT_EQ(tiers_of(p, 3), layout({{3, kv_tier::device}}));
  EXPECT_EQ(p.phase_at(3), kv_phase::one);
  EXPECT_EQ(tiers_of(p, 4), layout({{1, kv_tier::host}, {3, kv_tier::device}}));
  EXPECT_EQ(p.phase_at(4), kv_phase::two);
  EXPECT_EQ(tiers_of(p, 9), layout({{4, kv_tier::nvme}, {2, kv_tier::host}, {3, kv_tier::device}}));
  EXPECT_EQ(p.phase_at(9), kv_phase::two);
  EXPECT_EQ(p.phase_at(10), kv_phase::three);
  EXPECT_EQ(p.phase_at(0), kv_phase::one);
}

TEST(SequencePlan, OpenBlockIsAlwaysOnDevice) {
  const sequence_plan p = plan_of(0, 0, 0);  // every full block dropped
  EXPECT_EQ(p.target_tier(4, 5), kv_tier::dropped);
  EXPECT_EQ(p.target_tier(5, 5), kv_tier::device);
  EXPECT_EQ(p.target_tier(0, 0), kv_tier::device);
}

TEST(SequencePlan, SkipsEmptyTiers) {
  const sequence_plan p = plan_of(1, 0, 2);
  EXPECT_EQ(tiers_of(p, 5), layout({{2, kv_tier::dropped}, {2, kv_tier::nvme}, {1, kv_tier::device}}));
}

TEST(SequencePlan, UnboundedDeviceWithOtherCountsDoesNotOverflow) {
  const sequence_plan p = plan_of(INT_MAX, INT_MAX, INT_MAX);
  EXPECT_EQ(p.target_tier(0, INT_MAX), kv_tier::device);
}

TEST(SequencePlan, FullBlocksExcludeTheOpenBlock) {
  EXPECT_EQ(full_blocks(0), 0);
  EXPECT_EQ(full_blocks(kv_block_tokens - 1), 0);
  EXPECT_EQ(full_blocks(kv_block_tokens), 1);
  EXPECT_EQ(full_blocks(3 * kv_block_tokens + 1), 3);
}

}  // namespace
}  // namespace alisa::scheduler
