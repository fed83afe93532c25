// phase_planner, flexgen: one static split fixed at the first batch, applied to every later one.
#include <gtest/gtest.h>

#include <climits>
#include <vector>

#include "scheduler/phase_planner.hpp"
#include "tests/scheduler/planner_fixtures.hpp"

namespace alisa::scheduler {
namespace {

using test::demand;
using test::device_for;
using test::layout;
using test::store_for;
using test::tiers_of;

planner_options flexgen_options(uint64_t device, uint64_t host, uint64_t nvme) {
  planner_options o;
  o.policy = kv_policy::flexgen;
  o.budgets = {device, host, nvme};
  return o;
}

phase_planner planner_for(const planner_options& o) {
  return phase_planner(o, test::small_geometry(), test::fetch_wins());
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(FlexgenPlan, SplitIsDerivedFromTheFirstBatchAndStaysFixed) {
  // First batch: 20 full blocks/layer. Device 12 - 2 open = 10 -> 50%; host 6 blocks -> 30%;
  // NVMe the remaining 20%.
  auto planner = planner_for(flexgen_options(device_for(12), store_for(6), store_for(100)));
  EXPECT_EQ(planner.flexgen_split(), std::nullopt);
  const std::vector<sequence_demand> first = {demand(1, 10), demand(2, 10)};
  auto out = planner.plan(first);
  ASSERT_TRUE(planner.flexgen_split().has_value());
  EXPECT_DOUBLE_EQ(planner.flexgen_split()->device, 0.5);
  EXPECT_DOUBLE_EQ(planner.flexgen_split()->host, 0.3);
  EXPECT_DOUBLE_EQ(planner.flexgen_split()->nvme, 0.2);
  for (const auto& p : out.sequences) {
    EXPECT_EQ(p.phase, kv_phase::two);
    EXPECT_FALSE(p.store_hidden);
    EXPECT_EQ(tiers_of(p, 10), layout({{2, kv_tier::nvme}, {3, kv_tier::host}, {5, kv_tier::device}}));
  }
  EXPECT_FALSE(out.over_budget);
  EXPECT_TRUE(has(out.reason, "device 50.0% / host 30.0% / nvme 20.0%")) << out.reason;

  // One longer sequence later: the device could now hold 11 blocks, but the split is static.
  const std::vector<sequence_demand> later = {demand(3, 20)};
  out = planner.plan(later);
  EXPECT_DOUBLE_EQ(planner.flexgen_split()->device, 0.5);
  const auto& p = out.sequences[0];
  EXPECT_EQ(p.device_blocks, 10);
  EXPECT_EQ(p.host_blocks, 6);
  EXPECT_EQ(p.nvme_blocks, 4);
  EXPECT_FALSE(out.over_budget);

  // A batch the split cannot hold: 20 + 1 open device blocks of 12. Flagged, still static.
  const std::vector<sequence_demand> bigger = {demand(4, 40)};
  out = planner.plan(bigger);
  EXPECT_EQ(out.sequences[0].device_blocks, 20);
  EXPECT_TRUE(out.over_budget);
  EXPECT_TRUE(has(out.reason, "device needs 21 of 12 blocks/layer")) << out.reason;
}

TEST(FlexgenPlan, AnEmptyFirstBatchDoesNotFixTheSplit) {
  auto planner = planner_for(flexgen_options(device_for(12), store_for(6), store_for(100)));
  EXPECT_TRUE(planner.plan({}).sequences.empty());
  EXPECT_EQ(planner.flexgen_split(), std::nullopt);
}

TEST(FlexgenPlan, EverythingFitsIsPhaseOne) {
  auto planner = planner_for(flexgen_options(device_for(22), 0, 0));
  const std::vector<sequence_demand> batch = {demand(1, 10), demand(2, 10)};
  const auto out = planner.plan(batch);
  EXPECT_DOUBLE_EQ(planner.flexgen_split()->device, 1.0);
  for (const auto& p : out.sequences) {
    EXPECT_EQ(p.device_blocks, INT_MAX);
    EXPECT_EQ(p.phase, kv_phase::one);
  }
}

TEST(FlexgenPlan, WithoutNvmeHostTakesTheRest) {
  auto planner = planner_for(flexgen_options(device_for(12), store_for(6), 0));
  const std::vector<sequence_demand> batch = {demand(1, 10), demand(2, 10)};
  const auto out = planner.plan(batch);
  EXPECT_DOUBLE_EQ(planner.flexgen_split()->host, 0.5);
  EXPECT_DOUBLE_EQ(planner.flexgen_split()->nvme, 0.0);
  for (const auto& p : out.sequences) {
    EXPECT_EQ(tiers_of(p, 10), layout({{5, kv_tier::host}, {5, kv_tier::device}}));
  }
  EXPECT_TRUE(has(out.reason, "no nvme tier: host takes nvme's share")) << out.reason;
  // 10 host blocks/layer planned, 6 in the budget: FlexGen never drops, so it is over budget.
  EXPECT_TRUE(out.over_budget);
  EXPECT_TRUE(has(out.reason, "host needs 10 blocks/layer")) << out.reason;
}

TEST(FlexgenPlan, GivenSharesAreUsedAsTheyAre) {
  planner_options o = flexgen_options(0, store_for(100), 0);
  o.flexgen_device_share = 0.25;
  o.flexgen_host_share = 0.75;
  auto planner = planner_for(o);
  const std::vector<sequence_demand> batch = {demand(1, 10)};
  const auto out = planner.plan(batch);
  // floor(2.5) = 2 on device; floor((0.25 + 0.75) * 10) - 2 = 8 in host.
  EXPECT_EQ(tiers_of(out.sequences[0], 10), layout({{8, kv_tier::host}, {2, kv_tier::device}}));
  EXPECT_TRUE(has(out.reason, "(given)")) << out.reason;
}

TEST(FlexgenPlan, DecimalSharesDoNotLoseABlockToRounding) {
  planner_options o = flexgen_options(0, store_for(100), 0);
  o.flexgen_device_share = 0.7;
  o.flexgen_host_share = 0.3;
  auto planner = planner_for(o);
  const std::vector<sequence_demand> batch = {demand(1, 10)};
  const auto out = planner.plan(batch);
  const auto& p = out.sequences[0];
  EXPECT_EQ(p.device_blocks, 7);
  EXPECT_EQ(p.host_blocks, 3);
  EXPECT_EQ(p.nvme_blocks, 0);
}

}  // namespace
}  // namespace alisa::scheduler
