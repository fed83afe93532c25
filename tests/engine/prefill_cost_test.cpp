#include "engine/prefill_cost.hpp"

#include <gtest/gtest.h>


namespace alisa::engine {
namespace {

model::model_config stories15m() {
  model::model_config c;
  c.hidden_size = 288;
  c.intermediate_size = 768;
  c.num_layers = 6;
  c.num_heads = 6;
  c.num_kv_heads = 6;
  c.head_dim = 48;
  return c;
}

// Per layer: 2·(4·288² + 3·288·768) linear FLOPs per row, 4·288 attention FLOPs per key.
TEST(PrefillCost, KeysPerTokenIsTheRatioOfLinearToPerKeyAttentionFlops) {
  const prefill_cost cost(stories15m());
  EXPECT_NEAR(cost.keys_per_token(), 2.0 * (4.0 * 288 * 288 + 3.0 * 288 * 768) / (4.0 * 288), 1e-9);
}

TEST(PrefillCost, RowsDeepInAPromptCostMore) {
  const prefill_cost cost(stories15m());
  const double k = cost.keys_per_token();
  EXPECT_DOUBLE_EQ(cost.of_rows(0, 0), 0.0);
  EXPECT_DOUBLE_EQ(cost.of_rows(0, 1), 1.0 + 1.0 / k);
  EXPECT_DOUBLE_EQ(cost.of_rows(100, 2), 2.0 + (101.0 + 102.0) / k);
  EXPECT_GT(cost.of_rows(16000, 10), 9.0 * cost.of_rows(0, 10));
}

TEST(PrefillCost, RowsWithinIsTheLargestChunkThatFits) {
  const prefill_cost cost(stories15m());
  for (int64_t first : {0, 1000, 16000})
    for (double budget : {0.5, 1.0, 20.0, 2048.0}) {
      const int n = cost.rows_within(first, 5000, budget);
      EXPECT_LE(cost.of_rows(first, n), budget);
      if (n < 5000) {
        EXPECT_GT(cost.of_rows(first, n + 1), budget) << first << " " << budget;
      }
    }
  EXPECT_EQ(cost.rows_within(0, 7, 1e9), 7);         // capped by max_rows
  EXPECT_EQ(cost.rows_within(16000, 100, 5.0), 0);   // one row there costs ~10.6
  EXPECT_EQ(cost.rows_within(0, 0, 100.0), 0);
}

}  // namespace
}  // namespace alisa::engine
