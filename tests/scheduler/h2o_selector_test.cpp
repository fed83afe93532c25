// h2o_selector: per-head eviction order, permanent eviction, the protected recent half.
#include "scheduler/h2o_selector.hpp"

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

TEST(H2oSelector, WantedMass) {
  h2o_selector h2o(options_for(attention_policy::h2o, 0.5), 1, 2);
  EXPECT_EQ(h2o.wanted_mass(0, 0).num_rows, 0);
  EXPECT_EQ(h2o.wanted_mass(0, 1).num_rows, 1);
  EXPECT_FALSE(h2o.wanted_mass(0, 1).sum_rows);
  EXPECT_EQ(h2o.wanted_mass(0, 37).num_rows, 37);  // every prefill row counts
  EXPECT_TRUE(h2o.wanted_mass(0, 37).sum_rows);
}

TEST(H2oSelector, DenseAtSparsityZeroWhileScoring) {
  h2o_selector h2o(options_for(attention_policy::h2o, 0.0), 2, 2);
  for (int n = 1; n <= 30; ++n) {
    for (int layer = 0; layer < 2; ++layer) {
      token_set set;
      h2o.select(layer, n, set);
      ASSERT_TRUE(set.dense);
      h2o.observe(layer, set, decode_mass(set, n, 2, [](int h, int) { return h == 0 ? 0.5f : 0.25f; }));
    }
  }
  // Nothing evicted; position 0 got 0.5 from each of the 30 rows on head 0.
  EXPECT_EQ(h2o.head(1, 0).kept().size(), 30u);
  EXPECT_EQ(h2o.head(1, 0).scores()[0], 15.0);
  EXPECT_EQ(h2o.head(1, 1).scores()[0], 7.5);
  EXPECT_EQ(h2o.head(1, 1).scores()[29], 0.25);
}

// The walk-through shared by the next tests: 2 kv heads, sparsity 0.5, a 6-token prompt.
class H2oWalkthrough : public ::testing::Test {
 protected:
  H2oWalkthrough() : h2o_(options_for(attention_policy::h2o, 0.5), 1, 2) {
    h2o_.observe(0, token_set{},
                 prefill_mass(6, 2,
                              table({{{0, 0.5f}, {1, 0.125f}, {2, 0.25f}, {4, 0.25f}, {5, 1.0f}},
                                     {{1, 1.0f}, {2, 0.5f}, {3, 0.5f}}})));
  }
  token_set select(int n) {
    token_set set;
    h2o_.select(0, n, set);
    return set;
  }
  h2o_selector h2o_;
};

TEST_F(H2oWalkthrough, FirstSelectEvictsDownToTheBudgetPerHead) {
  // n = 7: budget 4 (3.5), protected [5, 7). Three evictions from [0, 5) per head:
  // head 0 scores 0.5, 0.125, 0.25, 0, 0.25 -> 3, 1, then 2 (ties 4, older first);
  // head 1 scores 0, 1, 0.5, 0.5, 0     -> 0, 4, then 2 (ties 3).
  const token_set set = select(7);
  ASSERT_FALSE(set.dense);
  EXPECT_EQ(set.num_lists, 2);
  EXPECT_EQ(set.list_size, 4);
  EXPECT_EQ(list_of(set, 0), (V{0, 4, 5, 6}));
  EXPECT_EQ(list_of(set, 1), (V{1, 3, 5, 6}));
  EXPECT_EQ(h2o_.head(0, 0).scores()[0], 0.5);  // parallel to kept
  EXPECT_EQ(h2o_.head(0, 0).scores()[2], 1.0);  // position 5
}

TEST_F(H2oWalkthrough, EvictionIsPermanentAndPerHead) {
  token_set set = select(7);
  // Each head's columns are its own list.
  h2o_.observe(0, set,
               decode_mass(set, 7, 2,
                           table({{{0, 0.25f}, {5, 0.5f}, {6, 0.25f}},
                                  {{3, 0.75f}, {5, 0.125f}, {6, 0.125f}}})));
  // n = 8: budget 4, one eviction below 6. head 0: 0 (0.75), 4 (0.25), 5 (1.5) -> 4;
  // head 1: 1 (1), 3 (1.25), 5 (0.125) -> 5.
  set = select(8);
  EXPECT_EQ(list_of(set, 0), (V{0, 5, 6, 7}));
  EXPECT_EQ(list_of(set, 1), (V{1, 3, 6, 7}));
  // Heavy mass for evicted tokens later on (a dense report) changes nothing: they never return.
  token_set dense;
  h2o_.observe(0, dense,
               decode_mass(dense, 8, 2,
                           table({{{1, 9.0f}, {2, 9.0f}, {3, 9.0f}, {4, 9.0f}},
                                  {{0, 9.0f}, {2, 9.0f}, {4, 9.0f}, {5, 9.0f}}})));
  // n = 9: budget 5 (4.5), the new position fills it: no eviction.
  set = select(9);
  EXPECT_EQ(list_of(set, 0), (V{0, 5, 6, 7, 8}));
  EXPECT_EQ(list_of(set, 1), (V{1, 3, 6, 7, 8}));
  h2o_.observe(0, set,
               decode_mass(set, 9, 2, table({{{6, 1.0f}, {8, 1.0f}}, {{1, 0.5f}}})));
  // n = 10: budget 5, one eviction below 7 (protected 3). head 0: 0 (0.75), 5 (1.5), 6 (1.25)
  // -> 0; head 1: 1 (1.5), 3 (1.25), 6 (0.125) -> 6.
  set = select(10);
  EXPECT_EQ(list_of(set, 0), (V{5, 6, 7, 8, 9}));
  EXPECT_EQ(list_of(set, 1), (V{1, 3, 7, 8, 9}));
  for (int n = 11; n <= 40; ++n) {
    set = select(n);
    h2o_.observe(0, set, decode_mass(set, n, 2, [](int, int p) { return p < 6 ? 8.0f : 0.0f; }));
    for (int h = 0; h < 2; ++h) {
      for (int32_t p : set.list(h)) {
        for (int32_t gone : h == 0 ? V{1, 2, 3, 4, 0} : V{0, 2, 4, 5, 6}) ASSERT_NE(p, gone);
      }
    }
  }
}

TEST(H2oSelector, RecentHalfIsProtectedEvenWithNoMass) {
  h2o_selector h2o(options_for(attention_policy::h2o, 0.5), 1, 1);
  // All prompt mass on the oldest tokens; none on the recent ones.
  h2o.observe(0, token_set{},
              prefill_mass(10, 1, [](int, int p) { return p < 6 ? 1.0f : 0.0f; }));
  token_set set;
  h2o.select(0, 11, set);  // budget 6 (5.5): protected [8, 11); 3 of [0, 8) kept
  // Zero-mass 6 and 7 go first, then the oldest of the ties at 1: 0, 1, 2.
  EXPECT_EQ(list_of(set), (V{3, 4, 5, 8, 9, 10}));
}

TEST(H2oSelector, DecodeFromTheFirstToken) {
  // No prefill: dense until the budget bites, scored all along.
  h2o_selector h2o(options_for(attention_policy::h2o, 0.5, /*min_budget=*/4), 1, 1);
  const auto mass = [](int, int p) { return p == 1 ? 0.5f : 0.125f; };
  token_set set;
  for (int n = 1; n <= 4; ++n) {
    h2o.select(0, n, set);
    ASSERT_TRUE(set.dense) << n;
    h2o.observe(0, set, decode_mass(set, n, 1, mass));
  }
  // n = 5: budget 4, protected [3, 5): evict the lowest of 0 (0.5), 1 (1.5), 2 (0.25) -> 2.
  h2o.select(0, 5, set);
  ASSERT_FALSE(set.dense);
  EXPECT_EQ(list_of(set), (V{0, 1, 3, 4}));
  h2o.observe(0, set, decode_mass(set, 5, 1, mass));
  // n = 6: budget 4, protected [4, 6): 0 (0.625), 1 (2), 3 (0.25) -> 3.
  h2o.select(0, 6, set);
  EXPECT_EQ(list_of(set), (V{0, 1, 4, 5}));
}

TEST(H2oSelector, LayersAreIndependent) {
  h2o_selector h2o(options_for(attention_policy::h2o, 0.5), 2, 1);
  h2o.observe(0, token_set{}, prefill_mass(6, 1, table({{{0, 1.0f}, {1, 0.5f}}})));
  h2o.observe(1, token_set{}, prefill_mass(6, 1, table({{{3, 1.0f}, {4, 0.5f}}})));
  token_set a;
  token_set b;
  h2o.select(0, 7, a);
  h2o.select(1, 7, b);
  EXPECT_EQ(list_of(a), (V{0, 1, 5, 6}));
  EXPECT_EQ(list_of(b), (V{3, 4, 5, 6}));
}

}  // namespace
}  // namespace alisa::scheduler
