// paged_admission: preempt the latest admitted until the rest fit; resume FCFS; cannot_fit.
#include <gtest/gtest.h>

#include <vector>

#include "scheduler/paged_admission.hpp"

namespace alisa::scheduler {
namespace {

using ids = std::vector<uint64_t>;

// Only length matters to admission.
sequence_demand seq(uint64_t id, int length) { return {id, length, length + 100}; }

paged_admission::decision decide(int total, const std::vector<sequence_demand>& running,
                                 const std::vector<sequence_demand>& waiting = {}) {
  return paged_admission(total).before_step(running, waiting);
}

TEST(PagedAdmission, BlocksForRoundsUp) {
  EXPECT_EQ(paged_admission::blocks_for(0), 0);
  EXPECT_EQ(paged_admission::blocks_for(1), 1);
  EXPECT_EQ(paged_admission::blocks_for(kv_block_tokens), 1);
  EXPECT_EQ(paged_admission::blocks_for(kv_block_tokens + 1), 2);
  EXPECT_EQ(paged_admission::blocks_for(4 * kv_block_tokens), 4);
}

TEST(PagedAdmission, EverythingFitsPreemptsNothing) {
  // 127 + 1 -> 2 blocks, 200 + 1 -> 4, 255 + 1 -> 4: exactly 10.
  const auto d = decide(10, {seq(1, 127), seq(2, 200), seq(3, 255)});
  EXPECT_EQ(d.preempt, ids{});
  EXPECT_FALSE(d.cannot_fit);
}

TEST(PagedAdmission, TheNextTokenNeedingABlockPreemptsTheLatestAdmitted) {
  // Sequence 3 at 256 tokens needs a 5th block for its next token: 11 > 10.
  const auto d = decide(10, {seq(1, 127), seq(2, 200), seq(3, 256)}, {seq(9, 1)});
  EXPECT_EQ(d.preempt, ids{3});
  EXPECT_EQ(d.resume, ids{});  // no resuming in a step that preempts
  EXPECT_FALSE(d.cannot_fit);
}

TEST(PagedAdmission, PreemptsLatestFirstUntilTheRestFit) {
  // 2 + 4 + 5 = 11 in a pool of 5: drop 3 (6 left), then 2 (2 left).
  const auto d = decide(5, {seq(1, 127), seq(2, 200), seq(3, 256)});
  EXPECT_EQ(d.preempt, (ids{3, 2}));
  EXPECT_FALSE(d.cannot_fit);
}

TEST(PagedAdmission, NeverPreemptsTheLastOne) {
  const auto alone = decide(10, {seq(1, 700)});  // 11 blocks
  EXPECT_EQ(alone.preempt, ids{});
  EXPECT_TRUE(alone.cannot_fit);
  const auto pair = decide(10, {seq(1, 700), seq(2, 3)});
  EXPECT_EQ(pair.preempt, ids{2});
  EXPECT_TRUE(pair.cannot_fit);
}

TEST(PagedAdmission, ResumesWaitingFirstComeFirstServed) {
  // Running: 2 blocks. Waiting: 5, 1, 4 -> 7, 8, then 12 > 10 stops the queue.
  const auto d = decide(10, {seq(1, 127)}, {seq(4, 300), seq(5, 63), seq(6, 200), seq(7, 1)});
  EXPECT_EQ(d.preempt, ids{});
  EXPECT_EQ(d.resume, (ids{4, 5}));
  EXPECT_FALSE(d.cannot_fit);
}

TEST(PagedAdmission, ABigHeadOfTheQueueIsNotOvertaken) {
  // 2 running + 9 for the head = 11 > 10: nobody behind it goes first.
  const auto d = decide(10, {seq(1, 127)}, {seq(4, 520), seq(5, 1)});
  EXPECT_EQ(d.resume, ids{});
  EXPECT_FALSE(d.cannot_fit);  // it will fit once the running sequence finishes
}

TEST(PagedAdmission, AnIdlePoolThatCannotHoldTheHeadCannotFit) {
  const auto d = decide(3, {}, {seq(4, 300), seq(5, 1)});
  EXPECT_EQ(d.resume, ids{});
  EXPECT_TRUE(d.cannot_fit);
  const auto fits = decide(3, {}, {seq(5, 1), seq(4, 300)});
  EXPECT_EQ(fits.resume, ids{5});
  EXPECT_FALSE(fits.cannot_fit);
}

TEST(PagedAdmission, NothingRunningOrWaiting) {
  const auto d = decide(0, {}, {});
  EXPECT_EQ(d.preempt, ids{});
  EXPECT_EQ(d.resume, ids{});
  EXPECT_FALSE(d.cannot_fit);
  EXPECT_EQ(paged_admission(42).total_blocks_per_layer(), 42);
}

}  // namespace
}  // namespace alisa::scheduler
