// cost_model: the per-tier formulas with made-up rates, computed by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "scheduler/cost_model.hpp"
#include "tests/scheduler/planner_fixtures.hpp"

namespace alisa::scheduler {
namespace {

constexpr double k_inf = std::numeric_limits<double>::infinity();

// Rows of 10 bytes, blocks of 640 (KV) and 320 (hidden: 5 bytes a row).
measured_rates made_up_rates() {
  measured_rates r;
  r.recompute_tokens_per_s = 1e6;
  r.host_to_device_gbs = 1;      // 1 byte/ns
  r.device_to_host_gbs = 2;
  r.nvme_read_gbs = 0.5;
  r.nvme_write_gbs = 0.25;
  r.nvme_read_latency_s = 1e-4;
  return r;
}

TEST(CostModel, FetchPerTier) {
  const cost_model c(test::small_geometry(), made_up_rates());
  EXPECT_EQ(c.fetch_seconds(kv_tier::device, 1000, 20), 0.0);
  // 10 rows * 10 bytes / 1e9 B/s.
  EXPECT_DOUBLE_EQ(c.fetch_seconds(kv_tier::host, 10, 1), 100e-9);
  EXPECT_DOUBLE_EQ(c.fetch_seconds(kv_tier::host, 10, 7), 100e-9);  // no blocks from RAM
  // 2 block reads: 2 * (1e-4 + 640 / 0.5e9) = 2.0256e-4; then 100 bytes to the device.
  EXPECT_DOUBLE_EQ(c.fetch_seconds(kv_tier::nvme, 10, 2), 2e-4 + 2 * 1.28e-6 + 100e-9);
  // Dropped: recompute from hidden states in host RAM: 50 bytes + 10 tokens at 1e6/s.
  EXPECT_DOUBLE_EQ(c.fetch_seconds(kv_tier::dropped, 10, 1), 50e-9 + 10e-6);
}

TEST(CostModel, RecomputePerHiddenTier) {
  const cost_model c(test::small_geometry(), made_up_rates());
  EXPECT_DOUBLE_EQ(c.recompute_seconds(10, kv_tier::device, 1), 10e-6);
  EXPECT_DOUBLE_EQ(c.recompute_seconds(10, kv_tier::host, 1), 50e-9 + 10e-6);
  // One hidden block read: 1e-4 + 320 / 0.5e9, then 50 bytes over the link, then 10 tokens.
  EXPECT_DOUBLE_EQ(c.recompute_seconds(10, kv_tier::nvme, 1), 1e-4 + 0.64e-6 + 50e-9 + 10e-6);
  EXPECT_EQ(c.recompute_seconds(0, kv_tier::host, 0), 0.0);
}

TEST(CostModel, OffloadPerTier) {
  const cost_model c(test::small_geometry(), made_up_rates());
  EXPECT_EQ(c.offload_seconds(kv_tier::device), 0.0);
  EXPECT_EQ(c.offload_seconds(kv_tier::dropped), 0.0);
  EXPECT_DOUBLE_EQ(c.offload_seconds(kv_tier::host), 640 / 2e9);
  EXPECT_DOUBLE_EQ(c.offload_seconds(kv_tier::nvme), 640 / 2e9 + 640 / 0.25e9);
}

TEST(CostModel, UnmeasuredRatesMakeMovesImpossibleNotFree) {
  measured_rates r = made_up_rates();
  r.nvme_read_gbs = 0;
  r.recompute_tokens_per_s = 0;
  const cost_model c(test::small_geometry(), r);
  EXPECT_EQ(c.fetch_seconds(kv_tier::nvme, 10, 1), k_inf);
  EXPECT_EQ(c.recompute_seconds(10, kv_tier::device, 1), k_inf);
  EXPECT_EQ(c.fetch_seconds(kv_tier::dropped, 10, 1), k_inf);
  EXPECT_EQ(c.recompute_seconds(0, kv_tier::device, 0), 0.0);  // nothing to do costs nothing
  EXPECT_DOUBLE_EQ(c.fetch_seconds(kv_tier::host, 10, 1), 100e-9);
}

TEST(CostModel, KeepsGeometryAndRates) {
  const cost_model c(test::small_geometry(), made_up_rates());
  EXPECT_EQ(c.geometry().kv_block_bytes, 640u);
  EXPECT_EQ(c.rates().nvme_read_latency_s, 1e-4);
}

TEST(MeasuredRates, ValidateRejectsNegativeAndNonFinite) {
  EXPECT_NO_THROW(measured_rates{}.validate());  // all unmeasured is valid
  EXPECT_NO_THROW(made_up_rates().validate());
  measured_rates r = made_up_rates();
  r.nvme_write_gbs = -1;
  EXPECT_THROW(r.validate(), std::invalid_argument);
  r = made_up_rates();
  r.host_to_device_gbs = std::nan("");
  EXPECT_THROW(r.validate(), std::invalid_argument);
  r = made_up_rates();
  r.recompute_tokens_per_s = k_inf;
  try {
    r.validate();
    FAIL() << "an infinite rate was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "measured_rates: recompute_tokens_per_s must be finite and >= 0, got inf");
  }
}

}  // namespace
}  // namespace alisa::scheduler
