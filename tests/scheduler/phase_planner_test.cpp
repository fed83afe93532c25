// phase_planner, alisa and vllm: hand-computed placements over the small test geometry
// (planner_fixtures.hpp: KV block 640 B, hidden block 320 B, device slot 1000 B, 2 layers).
#include <gtest/gtest.h>

#include <climits>
#include <vector>

#include "scheduler/phase_planner.hpp"
#include "tests/scheduler/planner_fixtures.hpp"

namespace alisa::scheduler {
namespace {

using test::alisa_options;
using test::demand;
using test::device_for;
using test::layout;
using test::store_for;
using test::tiers_of;

constexpr kv_tier device = kv_tier::device;
constexpr kv_tier host = kv_tier::host;
constexpr kv_tier nvme = kv_tier::nvme;
constexpr kv_tier dropped = kv_tier::dropped;

batch_plan plan_with(const planner_options& o, const std::vector<sequence_demand>& demands,
                     const measured_rates& r = test::fetch_wins()) {
  phase_planner planner(o, test::small_geometry(), r);
  return planner.plan(demands);
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(PhasePlanner, EverythingFitsIsPhaseOne) {
  // 2 sequences x 10 full blocks + 2 open blocks = 22 device blocks per layer.
  const auto out = plan_with(alisa_options(device_for(22), 0, 0), {demand(7, 10), demand(9, 10)});
  ASSERT_EQ(out.sequences.size(), 2u);
  for (const auto& p : out.sequences) {
    EXPECT_EQ(p.phase, kv_phase::one);
    EXPECT_EQ(p.device_blocks, INT_MAX);
    EXPECT_FALSE(p.store_hidden);
  }
  EXPECT_EQ(out.sequences[0].sequence, 7u);
  EXPECT_EQ(out.sequences[1].sequence, 9u);
  EXPECT_FALSE(out.over_budget);
  EXPECT_TRUE(has(out.reason, "phases I/II/III = 2/0/0")) << out.reason;
}

TEST(PhasePlanner, UnlimitedDeviceIsPhaseOne) {
  const auto out = plan_with(alisa_options(0, 0, 0), {demand(1, 5000)});
  EXPECT_EQ(out.sequences[0].device_blocks, INT_MAX);
  EXPECT_EQ(out.sequences[0].phase, kv_phase::one);
}

TEST(PhasePlanner, OneBlockShortOffloadsOneBlockOfOneSequence) {
  // 19 blocks for 20: fair shares 10 and 9 (the leftover goes to the first).
  const auto out = plan_with(alisa_options(device_for(21), store_for(100, 100), 0),
                             {demand(1, 10), demand(2, 10)});
  EXPECT_EQ(out.sequences[0].phase, kv_phase::one);
  EXPECT_EQ(out.sequences[0].device_blocks, INT_MAX);
  EXPECT_EQ(out.sequences[1].phase, kv_phase::two);
  EXPECT_EQ(out.sequences[1].device_blocks, 9);
  EXPECT_EQ(out.sequences[1].host_blocks, 1);
}

TEST(PhasePlanner, TightDeviceIsPhaseTwoWithEqualSharesNewestOnDevice) {
  // 8 device blocks - 2 open = 6 for full blocks: 3 each; host holds the other 7 (and hidden).
  const auto out = plan_with(alisa_options(device_for(8), store_for(100, 100), 0),
                             {demand(1, 10), demand(2, 10)});
  for (const auto& p : out.sequences) {
    EXPECT_EQ(p.phase, kv_phase::two);
    EXPECT_EQ(p.device_blocks, 3);
    EXPECT_EQ(p.host_blocks, 7);
    EXPECT_EQ(p.nvme_blocks, 0);
    EXPECT_TRUE(p.store_hidden);
    EXPECT_EQ(p.hidden_tier, host);
    EXPECT_EQ(tiers_of(p, 10), layout({{7, host}, {3, device}}));
    // Earlier, with 5 full blocks, the newest 3 are on device and the 2 older in host.
    EXPECT_EQ(tiers_of(p, 5), layout({{2, host}, {3, device}}));
  }
  EXPECT_FALSE(out.over_budget);
  EXPECT_TRUE(has(out.reason, "device 8 blocks/layer (2 open) for 20 full blocks/layer wanted"))
      << out.reason;
  EXPECT_TRUE(has(out.reason, "phases I/II/III = 0/2/0")) << out.reason;
  EXPECT_TRUE(has(out.reason, "fetching selected host tokens")) << out.reason;
}

TEST(PhasePlanner, HostTooSmallSpillsToNvme) {
  // Device: 3 full blocks; 7 off device. Host: the 7 hidden blocks + 2 KV blocks; NVMe: 5.
  const auto out = plan_with(alisa_options(device_for(4), store_for(2, 7), store_for(5)),
                             {demand(1, 10)});
  const auto& p = out.sequences[0];
  EXPECT_EQ(p.device_blocks, 3);
  EXPECT_EQ(p.host_blocks, 2);
  EXPECT_EQ(p.nvme_blocks, 5);
  EXPECT_EQ(p.phase, kv_phase::two);
  EXPECT_EQ(p.hidden_tier, host);
  EXPECT_EQ(tiers_of(p, 10), layout({{5, nvme}, {2, host}, {3, device}}));
  EXPECT_FALSE(out.over_budget);
}

TEST(PhasePlanner, NvmeTooSmallDropsTheOldest) {
  const auto out = plan_with(alisa_options(device_for(4), store_for(2, 7), store_for(3)),
                             {demand(1, 10)});
  const auto& p = out.sequences[0];
  EXPECT_EQ(p.phase, kv_phase::three);
  EXPECT_EQ(tiers_of(p, 10), layout({{2, dropped}, {3, nvme}, {2, host}, {3, device}}));
}

TEST(PhasePlanner, NoNvmeAndSmallHostIsPhaseThree) {
  const auto out = plan_with(alisa_options(device_for(4), store_for(2, 7), 0), {demand(1, 10)});
  const auto& p = out.sequences[0];
  EXPECT_EQ(p.phase, kv_phase::three);
  EXPECT_EQ(p.host_blocks, 2);
  EXPECT_EQ(p.nvme_blocks, 0);
  EXPECT_TRUE(p.store_hidden);
  EXPECT_EQ(p.hidden_tier, host);
  EXPECT_EQ(tiers_of(p, 10), layout({{5, dropped}, {2, host}, {3, device}}));
  EXPECT_FALSE(out.over_budget);
}

TEST(PhasePlanner, HostIsSplitEquallyBetweenOffloadingSequences) {
  // Each sequence: 3 on device, 7 off; host holds 14 hidden + 4 KV blocks: 7 + 2 each.
  const auto out = plan_with(alisa_options(device_for(8), store_for(4, 14), 0),
                             {demand(1, 10), demand(2, 10)});
  for (const auto& p : out.sequences) {
    EXPECT_EQ(tiers_of(p, 10), layout({{5, dropped}, {2, host}, {3, device}}));
  }
}

TEST(PhasePlanner, HiddenStatesGoToNvmeWhenHostCannotHoldThem) {
  const auto out = plan_with(alisa_options(device_for(4), store_for(2), store_for(100, 100)),
                             {demand(1, 10)});
  const auto& p = out.sequences[0];
  EXPECT_TRUE(p.store_hidden);
  EXPECT_EQ(p.hidden_tier, nvme);
  EXPECT_EQ(tiers_of(p, 10), layout({{5, nvme}, {2, host}, {3, device}}));
  EXPECT_FALSE(out.over_budget);
}

TEST(PhasePlanner, HiddenStatesThatFitNoTierAreOverBudget) {
  const auto out = plan_with(alisa_options(device_for(4), store_for(0, 6), 0), {demand(1, 10)});
  EXPECT_TRUE(out.over_budget);
  EXPECT_TRUE(has(out.reason, "over budget: 1 sequence(s)' hidden states fit no tier share"))
      << out.reason;
}

TEST(PhasePlanner, DeviceSmallerThanTheOpenBlocksIsOverBudget) {
  const auto out = plan_with(alisa_options(device_for(1), store_for(100, 100), 0),
                             {demand(1, 10), demand(2, 10)});
  EXPECT_TRUE(out.over_budget);
  EXPECT_EQ(out.sequences[0].device_blocks, 0);
  EXPECT_TRUE(has(out.reason, "device pool smaller than the open blocks")) << out.reason;
}

// Links at 1 GB/s; NVMe as given; projections at `recompute` tokens/s.
measured_rates rates(double recompute, double nvme_gbs, double nvme_latency) {
  measured_rates r = test::fetch_wins();
  r.recompute_tokens_per_s = recompute;
  r.nvme_read_gbs = nvme_gbs;
  r.nvme_read_latency_s = nvme_latency;
  return r;
}

TEST(PhasePlanner, SlowNvmeAndFastRecomputeDropInsteadOfNvme) {
  // Per block of 64 selected tokens: host 0.64 us, recompute 0.32 + 6.4 = 6.72 us, NVMe > 1 ms.
  const auto out = plan_with(alisa_options(device_for(4), store_for(2, 7), store_for(100, 100)),
                             {demand(1, 10)}, rates(1e7, 0.001, 1e-3));
  const auto& p = out.sequences[0];
  EXPECT_EQ(p.phase, kv_phase::three);
  EXPECT_EQ(tiers_of(p, 10), layout({{5, dropped}, {2, host}, {3, device}}));
  EXPECT_FALSE(out.over_budget);
  EXPECT_TRUE(has(out.reason, "fetching selected host tokens (0.01 us/token) beats recompute"))
      << out.reason;
  EXPECT_TRUE(has(out.reason, "beats fetching selected nvme tokens")) << out.reason;
}

TEST(PhasePlanner, FastNvmeKeepsTheBlocks) {
  // NVMe 10 GB/s, no latency: 0.064 + 0.64 us per block, below recompute's 6.72 us.
  const auto out = plan_with(alisa_options(device_for(4), store_for(2, 7), store_for(100, 100)),
                             {demand(1, 10)}, rates(1e7, 10, 0));
  EXPECT_EQ(out.sequences[0].phase, kv_phase::two);
  EXPECT_EQ(tiers_of(out.sequences[0], 10), layout({{5, nvme}, {2, host}, {3, device}}));
}

TEST(PhasePlanner, RecomputeCheaperThanHostDropsEveryOffDeviceBlock) {
  // Recompute: 0.32 + 0.064 us per block, below host's 0.64 us. Host then holds only hidden states.
  const auto out = plan_with(alisa_options(device_for(4), store_for(0, 7), store_for(100, 100)),
                             {demand(1, 10)}, rates(1e9, 10, 0));
  const auto& p = out.sequences[0];
  EXPECT_EQ(tiers_of(p, 10), layout({{7, dropped}, {3, device}}));
  EXPECT_EQ(p.hidden_tier, host);
  EXPECT_FALSE(out.over_budget);
}

TEST(PhasePlanner, CostTieKeepsTheKv) {
  // Host fetch 640 B = 0.64 us; recompute 320 B + 64 tokens at 2e8/s = 0.32 + 0.32 us.
  const auto out = plan_with(alisa_options(device_for(4), store_for(7, 7), 0), {demand(1, 10)},
                             rates(2e8, 0, 0));
  EXPECT_EQ(tiers_of(out.sequences[0], 10), layout({{7, host}, {3, device}}));
}

TEST(PhasePlanner, SparserSelectionFavoursRecomputeOverNvmeBlockReads) {
  // NVMe pays 3 us latency + 0.064 us per block read whatever it selects; recompute pays
  // 0.105 us per selected token. Dense (64 tokens): NVMe 3.70 us < 6.72 us. At 20% (13 tokens):
  // NVMe 3.19 us > recompute 1.37 us.
  planner_options o = alisa_options(device_for(4), store_for(2, 7), store_for(100, 100));
  const auto r = rates(1e7, 10, 3e-6);
  EXPECT_EQ(plan_with(o, {demand(1, 10)}, r).sequences[0].phase, kv_phase::two);
  o.attended_fraction = 0.2;
  EXPECT_EQ(tiers_of(plan_with(o, {demand(1, 10)}, r).sequences[0], 10),
            layout({{5, dropped}, {2, host}, {3, device}}));
}

TEST(PhasePlanner, ForcePhaseTwoOffloadsAllButTheNewestBlock) {
  planner_options o = alisa_options(0, store_for(100), 0);
  o.force_phase = 2;
  auto out = plan_with(o, {demand(1, 10)});
  const auto& p = out.sequences[0];
  EXPECT_EQ(p.phase, kv_phase::two);
  EXPECT_EQ(p.device_blocks, 1);
  EXPECT_FALSE(p.store_hidden);
  EXPECT_EQ(tiers_of(p, 10), layout({{9, host}, {1, device}}));
  EXPECT_TRUE(has(out.reason, "forced phase 2")) << out.reason;

  o.budgets = {0, store_for(3), store_for(100)};
  out = plan_with(o, {demand(1, 10)});
  EXPECT_EQ(tiers_of(out.sequences[0], 10), layout({{6, nvme}, {3, host}, {1, device}}));
  EXPECT_FALSE(out.over_budget);
}

TEST(PhasePlanner, ForcePhaseTwoNeverDropsEvenOverBudget) {
  planner_options o = alisa_options(0, store_for(3), 0);
  o.force_phase = 2;
  const auto out = plan_with(o, {demand(1, 10)});
  EXPECT_EQ(tiers_of(out.sequences[0], 10), layout({{9, host}, {1, device}}));
  EXPECT_TRUE(out.over_budget);
  EXPECT_TRUE(has(out.reason, "offload beyond the tier shares")) << out.reason;
}

TEST(PhasePlanner, ForcePhaseThreeDropsEveryOlderBlock) {
  planner_options o = alisa_options(0, store_for(100, 100), store_for(100));
  o.force_phase = 3;
  const auto out = plan_with(o, {demand(1, 10), demand(2, 1), demand(3, 0)});
  const auto& p = out.sequences[0];
  EXPECT_EQ(p.phase, kv_phase::three);
  EXPECT_EQ(p.device_blocks, 1);
  EXPECT_EQ(p.host_blocks, 0);
  EXPECT_EQ(p.nvme_blocks, 0);
  EXPECT_TRUE(p.store_hidden);
  EXPECT_EQ(p.hidden_tier, host);
  EXPECT_EQ(tiers_of(p, 10), layout({{9, dropped}, {1, device}}));
  // One full block fits the forced device share: nothing to drop, no hidden states.
  EXPECT_EQ(out.sequences[1].phase, kv_phase::one);
  EXPECT_FALSE(out.sequences[1].store_hidden);
  EXPECT_EQ(out.sequences[2].phase, kv_phase::one);
}

TEST(PhasePlanner, ReplanAfterASequenceFinishesGivesTheOthersMore) {
  phase_planner planner(alisa_options(device_for(15), store_for(100, 100), 0),
                        test::small_geometry(), test::fetch_wins());
  const std::vector<sequence_demand> three = {demand(1, 10), demand(2, 10), demand(3, 10)};
  auto out = planner.plan(three);
  for (const auto& p : out.sequences) EXPECT_EQ(p.device_blocks, 4);  // (15 - 3) / 3
  const std::vector<sequence_demand> two = {demand(1, 10), demand(3, 10)};
  out = planner.plan(two);
  EXPECT_EQ(out.sequences[0].sequence, 1u);
  EXPECT_EQ(out.sequences[0].device_blocks, 7);  // 13 = 7 + 6
  EXPECT_EQ(out.sequences[1].sequence, 3u);
  EXPECT_EQ(out.sequences[1].device_blocks, 6);
  const std::vector<sequence_demand> one = {demand(3, 10)};
  EXPECT_EQ(planner.plan(one).sequences[0].phase, kv_phase::one);
}

TEST(PhasePlanner, ShortSequencesLeaveDeviceBlocksToLongOnes) {
  const auto out = plan_with(alisa_options(device_for(12), store_for(100, 100), 0),
                             {demand(1, 2), demand(2, 20)});
  EXPECT_EQ(out.sequences[0].device_blocks, INT_MAX);
  EXPECT_EQ(out.sequences[0].phase, kv_phase::one);
  EXPECT_EQ(out.sequences[1].device_blocks, 8);
}

TEST(PhasePlanner, PlansDependOnFinalLengthNotCurrentLength) {
  const auto opts = alisa_options(device_for(8), store_for(100, 100), 0);
  const sequence_demand early{1, 10, 10 * kv_block_tokens};
  const sequence_demand late{1, 10 * kv_block_tokens - 1, 10 * kv_block_tokens};
  const auto a = plan_with(opts, {early, demand(2, 10)});
  const auto b = plan_with(opts, {late, demand(2, 10)});
  EXPECT_EQ(a.sequences[0].device_blocks, b.sequences[0].device_blocks);
  EXPECT_EQ(a.sequences[0].host_blocks, b.sequences[0].host_blocks);
  EXPECT_EQ(a.reason, b.reason);
}

TEST(PhasePlanner, NoSequencesIsAnEmptyPlan) {
  const auto out = plan_with(alisa_options(device_for(8), 0, 0), {});
  EXPECT_TRUE(out.sequences.empty());
  EXPECT_FALSE(out.over_budget);
  EXPECT_FALSE(out.reason.empty());
}

TEST(PhasePlanner, VllmKeepsEverythingOnDevice) {
  planner_options o = alisa_options(device_for(2), 0, 0);
  o.policy = kv_policy::vllm;
  const auto out = plan_with(o, {demand(1, 10), demand(2, 30)});
  for (const auto& p : out.sequences) {
    EXPECT_EQ(p.device_blocks, INT_MAX);
    EXPECT_EQ(p.phase, kv_phase::one);
    EXPECT_FALSE(p.store_hidden);
  }
  EXPECT_EQ(out.sequences[1].sequence, 2u);
  EXPECT_TRUE(has(out.reason, "vllm")) << out.reason;
}

}  // namespace
}  // namespace alisa::scheduler
