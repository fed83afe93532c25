// swa_selector: recent half + windowed top-k, ties, expiry, prefill seeding, the dense switch.
#include "scheduler/swa_selector.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "tests/scheduler/selection_fixtures.hpp"

namespace alisa::scheduler {
namespace {

using test::decode_mass;
using test::list_of;
using test::options_for;
using test::prefill_mass;
using test::table;
using V = std::vector<int32_t>;

const test::mass_fn no_mass = [](int, int) { return 0.0f; };

// One decode step of `layer`: select, then report `mass` over the selected set.
V step(swa_selector& swa, int layer, int n, int num_kv_heads, const test::mass_fn& mass) {
  token_set set;
  swa.select(layer, n, set);
  swa.observe(layer, set, decode_mass(set, n, num_kv_heads, mass));
  return set.dense ? V{} : list_of(set);
}

void prefill(swa_selector& swa, int layer, int num_prompt, int num_kv_heads,
             const test::mass_fn& mass) {
  swa.observe(layer, token_set{}, prefill_mass(num_prompt, num_kv_heads, mass));
}

TEST(SwaSelector, DenseAtSparsityZero) {
  swa_selector swa(options_for(attention_policy::swa, 0.0), 2);
  for (int n = 1; n <= 40; ++n) {
    for (int layer = 0; layer < 2; ++layer) {
      token_set set;
      swa.select(layer, n, set);
      ASSERT_TRUE(set.dense);
      swa.observe(layer, set, decode_mass(set, n, 2, [](int, int) { return 0.5f; }));
    }
  }
  const mass_request r = swa.wanted_mass(0, 1);
  EXPECT_EQ(r.num_rows, 1);
  EXPECT_FALSE(r.sum_rows);
}

TEST(SwaSelector, DenseWhileBudgetCoversEverything) {
  swa_selector swa(options_for(attention_policy::swa, 0.5), 1);
  token_set set;
  swa.select(0, 1, set);
  EXPECT_TRUE(set.dense);
  swa.select(0, 2, set);  // 1 raised to the floor of 2
  EXPECT_TRUE(set.dense);
  swa.select(0, 3, set);  // 1.5 -> 2 < 3
  EXPECT_FALSE(set.dense);
  EXPECT_EQ(list_of(set), (V{0, 2}));  // recent 1 (the query) + 1 global (all zero: the oldest)
}

TEST(SwaSelector, WithoutScoresTheGlobalsAreTheOldest) {
  swa_selector swa(options_for(attention_policy::swa, 0.5), 1);
  token_set set;
  swa.select(0, 10, set);  // budget 5: recent 3 + 2 globals
  EXPECT_EQ(list_of(set), (V{0, 1, 7, 8, 9}));
  EXPECT_EQ(set.num_lists, 1);
  EXPECT_EQ(set.list_size, 5);
}

TEST(SwaSelector, PrefillSeedsRecentPlusTopKWithoutOverlap) {
  swa_selector swa(options_for(attention_policy::swa, 0.5), 1);
  // A 10-token prompt: its last row sees 10 positions, budget 5, window ceil(5/2) = 3 rows.
  const mass_request r = swa.wanted_mass(0, 10);
  EXPECT_EQ(r.num_rows, 3);
  EXPECT_TRUE(r.sum_rows);
  // Heads are summed: 2 -> 0.75, 3 -> 0.25, 5 -> 0.25, 7 -> 1, 8 -> 0.5, 9 -> 1.
  prefill(swa, 0, 10, 2,
          table({{{2, 0.5f}, {3, 0.25f}, {5, 0.25f}, {9, 1.0f}}, {{2, 0.25f}, {7, 1.0f}, {8, 0.5f}}}));
  // n = 11: budget 6 (5.5), recent [8, 11). 8 and 9 are heavy but already recent, so the three
  // globals come from [0, 8): 7, 2, then 3 over 5 (a tie goes to the older).
  token_set set;
  swa.select(0, 11, set);
  EXPECT_EQ(list_of(set), (V{2, 3, 7, 8, 9, 10}));
  // The decode row's columns are the set's positions: 3 += 1, 8 += 0.5, 10 += 0.5.
  swa.observe(0, set,
              decode_mass(set, 11, 2, table({{{3, 0.5f}, {10, 0.5f}}, {{3, 0.5f}, {8, 0.5f}}})));
  EXPECT_EQ(swa.scores(0).scores()[3], 1.25);
  EXPECT_EQ(swa.scores(0).scores()[8], 1.0);
  // n = 12: recent [9, 12); from [0, 9): 3 (1.25), then 7 and 8 tie at 1 over 2 (0.75).
  swa.select(0, 12, set);
  EXPECT_EQ(list_of(set), (V{3, 7, 8, 9, 10, 11}));
}

TEST(SwaSelector, HeavyTokenLeavesAfterWindowRows) {
  swa_selector swa(options_for(attention_policy::swa, 0.5, 2, 0, /*window=*/2), 1);
  EXPECT_EQ(swa.wanted_mass(0, 6).num_rows, 2);
  prefill(swa, 0, 6, 1, table({{{1, 1.0f}, {3, 0.5f}}}));
  // n = 7: budget 4 (3.5), recent [5, 7): globals 1 and 3 from the prefill.
  EXPECT_EQ(step(swa, 0, 7, 1, table({{{5, 0.5f}, {6, 0.5f}}})), (V{1, 3, 5, 6}));
  // n = 8: ring = prefill, row 7. 5 (0.5) ties 3 (0.5): the older wins.
  EXPECT_EQ(step(swa, 0, 8, 1, table({{{6, 0.25f}, {7, 0.75f}}})), (V{1, 3, 6, 7}));
  // n = 9: two decode rows since the prefill: it leaves, and with it tokens 1 and 3.
  EXPECT_EQ(step(swa, 0, 9, 1, table({{{8, 1.0f}}})), (V{0, 5, 6, 7, 8}));
  EXPECT_EQ(swa.scores(0).scores()[1], 0.0);
  EXPECT_EQ(swa.scores(0).scores()[3], 0.0);
  // n = 10: row 7 (the one that scored 5) leaves; row 8 keeps 6 in.
  EXPECT_EQ(step(swa, 0, 10, 1, no_mass), (V{0, 6, 7, 8, 9}));
  EXPECT_EQ(swa.scores(0).num_steps(), 3);  // trimmed to 2 at the next select
}

TEST(SwaSelector, TokensSkippedEarlierCanReturn) {
  // SWA evicts nothing: a position left out at one step comes back once the window favours it.
  // Budget fixed at 3 (cap): recent 2 + 1 global; window 2 rows.
  swa_selector swa(options_for(attention_policy::swa, 0.5, 2, /*max_budget=*/3, /*window=*/2), 1);
  prefill(swa, 0, 6, 1, table({{{1, 1.0f}}}));
  // n = 7: 1 is the global; 5 is recent and scores in this step's row.
  EXPECT_EQ(step(swa, 0, 7, 1, table({{{5, 0.25f}}})), (V{1, 5, 6}));
  // n = 8: 5 has left the recent run and loses to 1 (prefill still in the window).
  EXPECT_EQ(step(swa, 0, 8, 1, no_mass), (V{1, 6, 7}));
  // n = 9: the prefill left the window; 5's mass from row 7 has not: 5 is back.
  EXPECT_EQ(step(swa, 0, 9, 1, no_mass), (V{5, 7, 8}));
}

TEST(SwaSelector, PrefillEntryLeavesAfterWDecodeSteps) {
  swa_selector swa(options_for(attention_policy::swa, 0.5), 1);
  prefill(swa, 0, 10, 1, table({{{4, 1.0f}}}));
  // Default window = recent half: 3 at n = 11, 12; 4 at n = 13, 14, 15. The prefill entry is
  // dropped once the ring holds W newer entries: at n = 15 (4 decode rows after it).
  EXPECT_EQ(step(swa, 0, 11, 1, no_mass), (V{0, 1, 4, 8, 9, 10}));
  EXPECT_EQ(step(swa, 0, 12, 1, no_mass), (V{0, 1, 4, 9, 10, 11}));
  EXPECT_EQ(step(swa, 0, 13, 1, no_mass), (V{0, 1, 4, 9, 10, 11, 12}));
  EXPECT_EQ(step(swa, 0, 14, 1, no_mass), (V{0, 1, 4, 10, 11, 12, 13}));
  EXPECT_EQ(step(swa, 0, 15, 1, no_mass), (V{0, 1, 2, 3, 11, 12, 13, 14}));
}

TEST(SwaSelector, DefaultWindowFollowsTheRecentHalf) {
  const auto o = options_for(attention_policy::swa, 0.5);
  swa_selector swa(o, 1);
  int observed = 0;
  for (int n = 1; n <= 200; ++n) {
    token_set set;
    swa.select(0, n, set);
    const int window = (token_budget(o, n) + 1) / 2;
    ASSERT_EQ(swa.scores(0).num_steps(), std::min(observed, window)) << n;
    swa.observe(0, set, decode_mass(set, n, 1, [](int, int) { return 0.25f; }));
    ++observed;
  }
}

TEST(SwaSelector, WantedMass) {
  swa_selector swa(options_for(attention_policy::swa, 0.5), 2);
  EXPECT_EQ(swa.wanted_mass(0, 0).num_rows, 0);
  EXPECT_EQ(swa.wanted_mass(0, 1).num_rows, 1);
  EXPECT_FALSE(swa.wanted_mass(0, 1).sum_rows);
  EXPECT_EQ(swa.wanted_mass(0, 2).num_rows, 1);   // sees 2: budget 2, window 1
  EXPECT_EQ(swa.wanted_mass(0, 10).num_rows, 3);  // budget 5
  EXPECT_EQ(swa.wanted_mass(0, 100).num_rows, 25);
  EXPECT_TRUE(swa.wanted_mass(0, 100).sum_rows);
  // A second multi-row step on layer 0 sees the first one's 10 positions too: 14 -> budget 7.
  prefill(swa, 0, 10, 2, no_mass);
  EXPECT_EQ(swa.wanted_mass(0, 4).num_rows, 4);
  EXPECT_EQ(swa.wanted_mass(1, 4).num_rows, 1);  // layer 1 saw nothing: 4 -> budget 2
  // A fixed window bounds the rows, never beyond the step's own.
  swa_selector fixed(options_for(attention_policy::swa, 0.5, 2, 0, /*window=*/8), 1);
  EXPECT_EQ(fixed.wanted_mass(0, 5).num_rows, 5);
  EXPECT_EQ(fixed.wanted_mass(0, 100).num_rows, 8);
}

TEST(SwaSelector, LayersSelectIndependently) {
  swa_selector swa(options_for(attention_policy::swa, 0.5), 2);
  prefill(swa, 0, 10, 1, table({{{4, 1.0f}, {2, 0.5f}}}));
  prefill(swa, 1, 10, 1, table({{{6, 1.0f}}}));
  token_set a;
  token_set b;
  swa.select(0, 11, a);
  swa.select(1, 11, b);
  EXPECT_EQ(list_of(a), (V{0, 2, 4, 8, 9, 10}));
  EXPECT_EQ(list_of(b), (V{0, 1, 6, 8, 9, 10}));
}

TEST(SwaSelector, BudgetCapAndFloor) {
  // Cap 4: recent 2 + 2 globals however long the sequence.
  swa_selector capped(options_for(attention_policy::swa, 0.2, 2, /*max_budget=*/4), 1);
  prefill(capped, 0, 50, 1, table({{{17, 1.0f}, {33, 0.5f}, {48, 1.0f}}}));
  token_set set;
  capped.select(0, 51, set);
  EXPECT_EQ(list_of(set), (V{17, 48, 49, 50}));  // 17 and 48 tie at 1, above 33
  // Floor 3 at 90% sparsity: recent 2 + 1 global.
  swa_selector floored(options_for(attention_policy::swa, 0.9, /*min_budget=*/3), 1);
  prefill(floored, 0, 20, 1, table({{{5, 0.25f}, {11, 0.5f}}}));
  floored.select(0, 21, set);
  EXPECT_EQ(list_of(set), (V{11, 19, 20}));
}

}  // namespace
}  // namespace alisa::scheduler
