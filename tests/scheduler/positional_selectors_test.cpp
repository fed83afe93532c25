// dense, local, strided and streaming: exact sets, the dense switch, and their invariants.
#include <gtest/gtest.h>

#include <vector>

#include "scheduler/token_selector.hpp"
#include "tests/scheduler/selection_fixtures.hpp"

namespace alisa::scheduler {
namespace {

using test::list_of;
using test::options_for;
using V = std::vector<int32_t>;

V select_once(const selection_options& o, int n) {
  auto selector = make_token_selector(o, 1, 1);
  token_set set;
  selector->select(0, n, set);
  EXPECT_FALSE(set.dense) << "n=" << n;
  EXPECT_EQ(set.num_lists, 1);
  return list_of(set);
}

bool dense_at(const selection_options& o, int n) {
  auto selector = make_token_selector(o, 1, 1);
  token_set set;
  set.dense = false;
  set.list_size = 1;
  set.positions = {0};
  selector->select(0, n, set);
  return set.dense && set.positions.empty() && set.list_size == 0;
}

TEST(DenseSelector, AlwaysDenseAndWantsNoMass) {
  auto selector = make_token_selector(options_for(attention_policy::dense, 0.9), 3, 2);
  token_set set;
  for (int n = 1; n <= 50; ++n) {
    selector->select(n % 3, n, set);
    EXPECT_TRUE(set.dense);
  }
  const mass_request none = selector->wanted_mass(0, 1);
  EXPECT_EQ(none.num_rows, 0);
  EXPECT_EQ(selector->wanted_mass(0, 64).num_rows, 0);
}

TEST(LocalSelector, MostRecentBudget) {
  const auto o = options_for(attention_policy::local, 0.5);
  EXPECT_EQ(select_once(o, 10), (V{5, 6, 7, 8, 9}));
  EXPECT_EQ(select_once(o, 3), (V{1, 2}));  // 1.5 -> 2
  EXPECT_TRUE(dense_at(o, 2));
  EXPECT_TRUE(dense_at(o, 1));
  EXPECT_EQ(select_once(options_for(attention_policy::local, 0.9, 1), 8), (V{7}));
}

TEST(StridedSelector, FixedStrideWhenBudgetDividesN) {
  const auto o = options_for(attention_policy::strided, 0.5);
  EXPECT_EQ(select_once(o, 10), (V{1, 3, 5, 7, 9}));
  EXPECT_EQ(select_once(options_for(attention_policy::strided, 0.8), 20), (V{4, 9, 14, 19}));
  EXPECT_EQ(select_once(options_for(attention_policy::strided, 0.75), 12), (V{3, 7, 11}));
}

TEST(StridedSelector, FractionalStrideStaysInRange) {
  // n = 10, budget 6: a stride of ceil(10/6) = 2 would need position -1.
  EXPECT_EQ(select_once(options_for(attention_policy::strided, 0.4), 10), (V{1, 3, 4, 6, 8, 9}));
  // n = 7, budget 4 (3.5 rounds up): offsets 0, 1, 3, 5.
  EXPECT_EQ(select_once(options_for(attention_policy::strided, 0.5), 7), (V{1, 3, 5, 6}));
  // budget 1: the query alone.
  EXPECT_EQ(select_once(options_for(attention_policy::strided, 0.9, 1), 9), (V{8}));
}

TEST(StridedSelector, InvariantsOverManyShapes) {
  for (double s : {0.1, 0.2, 0.4, 0.5, 0.6, 0.8, 0.9}) {
    const auto o = options_for(attention_policy::strided, s, 1);
    auto selector = make_token_selector(o, 1, 1);
    token_set set;
    for (int n = 1; n <= 400; ++n) {
      selector->select(0, n, set);
      const int b = token_budget(o, n);
      if (b == n) {
        ASSERT_TRUE(set.dense);
        continue;
      }
      ASSERT_FALSE(set.dense);
      ASSERT_EQ(set.list_size, b);
      const V l = list_of(set);
      ASSERT_GE(l.front(), 0);
      ASSERT_EQ(l.back(), n - 1);
      for (int i = 1; i < b; ++i) {
        const int gap = l[i] - l[i - 1];
        ASSERT_TRUE(gap == n / b || gap == (n + b - 1) / b) << "s=" << s << " n=" << n;
      }
    }
  }
}

TEST(StreamingSelector, SinksPlusRecent) {
  const auto o = options_for(attention_policy::streaming, 0.5, 2, 0, 0, /*num_sinks=*/4);
  EXPECT_EQ(select_once(o, 20), (V{0, 1, 2, 3, 14, 15, 16, 17, 18, 19}));
  EXPECT_EQ(select_once(o, 11), (V{0, 1, 2, 3, 9, 10}));  // 5.5 -> 6: 4 sinks + 2 recent
  // A budget of 5 leaves room for 4 sinks and the query only.
  EXPECT_EQ(select_once(o, 9), (V{0, 1, 2, 3, 8}));
}

TEST(StreamingSelector, SinksYieldToTheQuery) {
  // Budget 2 (0.8 * 10): one sink and the query.
  EXPECT_EQ(select_once(options_for(attention_policy::streaming, 0.8), 10), (V{0, 9}));
  // Budget 1: the query only, no sink.
  EXPECT_EQ(select_once(options_for(attention_policy::streaming, 0.9, 1), 6), (V{5}));
  // No sinks: local.
  EXPECT_EQ(select_once(options_for(attention_policy::streaming, 0.5, 2, 0, 0, 0), 8),
            (V{4, 5, 6, 7}));
}

TEST(StreamingSelector, DenseWhileTheBudgetCoversEverything) {
  const auto o = options_for(attention_policy::streaming, 0.5, /*min_budget=*/6);
  for (int n = 1; n <= 6; ++n) EXPECT_TRUE(dense_at(o, n)) << n;
  EXPECT_EQ(select_once(o, 7), (V{0, 1, 2, 3, 5, 6}));
}

TEST(PositionalSelectors, WantNoMass) {
  for (auto p : {attention_policy::local, attention_policy::strided, attention_policy::streaming}) {
    auto selector = make_token_selector(options_for(p, 0.5), 1, 1);
    EXPECT_EQ(selector->wanted_mass(0, 1).num_rows, 0) << to_string(p);
    EXPECT_EQ(selector->wanted_mass(0, 128).num_rows, 0) << to_string(p);
  }
}

TEST(PositionalSelectors, DenseAtSparsityZero) {
  for (auto p : {attention_policy::local, attention_policy::strided, attention_policy::streaming}) {
    for (int n = 1; n <= 40; ++n) EXPECT_TRUE(dense_at(options_for(p, 0.0), n)) << to_string(p);
  }
}

}  // namespace
}  // namespace alisa::scheduler
