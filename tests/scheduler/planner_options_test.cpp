// planner_options::validate and the planner's constructor reject bad options with a message.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "scheduler/phase_planner.hpp"
#include "tests/scheduler/planner_fixtures.hpp"

namespace alisa::scheduler {
namespace {

std::string message_of(const planner_options& o) {
  try {
    o.validate();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<valid>";
}

planner_options flexgen_with(double device, double host) {
  planner_options o;
  o.policy = kv_policy::flexgen;
  o.flexgen_device_share = device;
  o.flexgen_host_share = host;
  return o;
}

TEST(PlannerOptions, DefaultsAndEdgesAreValid) {
  EXPECT_EQ(message_of(planner_options{}), "<valid>");
  planner_options o;
  o.attended_fraction = 1e-6;
  o.force_phase = 3;
  EXPECT_EQ(message_of(o), "<valid>");
  EXPECT_EQ(message_of(flexgen_with(0, 1)), "<valid>");
  EXPECT_EQ(message_of(flexgen_with(0.7, 0.3)), "<valid>");
  EXPECT_EQ(message_of(flexgen_with(-1, -1)), "<valid>");
}

TEST(PlannerOptions, RejectsAttendedFractionOutsideZeroToOne) {
  planner_options o;
  o.attended_fraction = 0;
  EXPECT_EQ(message_of(o), "planner: attended_fraction must be in (0, 1], got 0");
  o.attended_fraction = 1.5;
  EXPECT_EQ(message_of(o), "planner: attended_fraction must be in (0, 1], got 1.5");
  o.attended_fraction = std::nan("");
  EXPECT_EQ(message_of(o), "planner: attended_fraction must be in (0, 1], got nan");
}

TEST(PlannerOptions, RejectsUnknownOrMisappliedForcedPhases) {
  planner_options o;
  o.force_phase = 1;
  EXPECT_EQ(message_of(o), "planner: force_phase must be 0 (by cost), 2 or 3, got 1");
  o.force_phase = -2;
  EXPECT_NE(message_of(o), "<valid>");
  o.force_phase = 2;
  o.policy = kv_policy::vllm;
  EXPECT_EQ(message_of(o), "planner: force_phase applies only to policy alisa");
}

TEST(PlannerOptions, RejectsBadFlexgenShares) {
  EXPECT_EQ(message_of(flexgen_with(0.5, -1)),
            "planner: give both flexgen shares or neither (< 0 = derived)");
  EXPECT_EQ(message_of(flexgen_with(1.5, 0)), "planner: flexgen_device_share must be in [0, 1], got 1.5");
  EXPECT_EQ(message_of(flexgen_with(0, std::nan(""))),
            "planner: flexgen_host_share must be in [0, 1], got nan");
  EXPECT_EQ(message_of(flexgen_with(0.6, 0.6)), "planner: flexgen shares must sum to <= 1, got 1.2");
  planner_options o = flexgen_with(0.5, 0.5);
  o.policy = kv_policy::alisa;
  EXPECT_EQ(message_of(o), "planner: flexgen shares apply only to policy flexgen");
}

TEST(PlannerOptions, RejectsAPolicyOutsideTheEnum) {
  planner_options o;
  o.policy = static_cast<kv_policy>(7);
  EXPECT_EQ(message_of(o), "planner: policy must be one of alisa|flexgen|vllm");
}

TEST(PlannerOptions, PlannerRefusesBadOptionsAndRates) {
  planner_options o;
  o.attended_fraction = 2;
  EXPECT_THROW(phase_planner(o, test::small_geometry(), test::fetch_wins()), std::invalid_argument);
  measured_rates r = test::fetch_wins();
  r.nvme_read_gbs = -1;
  EXPECT_THROW(phase_planner(planner_options{}, test::small_geometry(), r), std::invalid_argument);
}

}  // namespace
}  // namespace alisa::scheduler
