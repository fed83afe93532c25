// Policy names, flag validation and the shared token budget.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "scheduler/token_selector.hpp"
#include "tests/scheduler/selection_fixtures.hpp"

namespace alisa::scheduler {
namespace {

using test::options_for;

TEST(AttentionPolicy, NamesRoundTrip) {
  for (auto p : {attention_policy::dense, attention_policy::swa, attention_policy::local,
                 attention_policy::strided, attention_policy::streaming, attention_policy::h2o}) {
    EXPECT_EQ(parse_attention_policy(to_string(p)), p) << to_string(p);
  }
  EXPECT_EQ(to_string(attention_policy::swa), "swa");
  EXPECT_EQ(to_string(attention_policy::h2o), "h2o");
  EXPECT_EQ(attention_policy_names(), "dense, swa, local, strided, streaming, h2o");
}

TEST(AttentionPolicy, ParseRejectsOtherSpellings) {
  EXPECT_EQ(parse_attention_policy(""), std::nullopt);
  EXPECT_EQ(parse_attention_policy("SWA"), std::nullopt);
  EXPECT_EQ(parse_attention_policy("swa "), std::nullopt);
  EXPECT_EQ(parse_attention_policy("stream"), std::nullopt);
  EXPECT_EQ(parse_attention_policy("alisa"), std::nullopt);
}

TEST(SelectionOptions, DefaultsAndEdgesAreValid) {
  EXPECT_EQ(selection_options{}.validate(), std::nullopt);
  selection_options o;
  o.sparsity = 0.999;
  o.window = 0;
  o.num_sinks = 0;
  o.min_budget = 1;
  o.max_budget = 1;  // == min is allowed
  EXPECT_EQ(o.validate(), std::nullopt);
  o.min_budget = 100;
  o.max_budget = 0;  // no cap: any min
  EXPECT_EQ(o.validate(), std::nullopt);
}

std::string message_of(const selection_options& o) { return o.validate().value_or("<valid>"); }

TEST(SelectionOptions, MessagesNameTheFlag) {
  selection_options o;
  o.sparsity = 1.0;
  EXPECT_EQ(message_of(o), "--kv-sparsity must be in [0, 1), got 1");
  o.sparsity = -0.25;
  EXPECT_EQ(message_of(o), "--kv-sparsity must be in [0, 1), got -0.25");
  o.sparsity = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(message_of(o), "--kv-sparsity must be in [0, 1), got nan");

  o = {};
  o.window = -1;
  EXPECT_EQ(message_of(o), "--swa-window must be >= 0 (0 = the recent half), got -1");
  o = {};
  o.num_sinks = -2;
  EXPECT_EQ(message_of(o), "--sinks must be >= 0, got -2");
  o = {};
  o.min_budget = 0;
  EXPECT_EQ(message_of(o), "--kv-budget-min must be >= 1, got 0");
  o = {};
  o.max_budget = -1;
  EXPECT_EQ(message_of(o), "--kv-budget-max must be >= 0 (0 = no cap), got -1");
  o = {};
  o.min_budget = 8;
  o.max_budget = 4;
  EXPECT_EQ(message_of(o), "--kv-budget-max (4) must be >= --kv-budget-min (8) when set");
  o = {};
  o.policy = static_cast<attention_policy>(42);
  EXPECT_EQ(message_of(o),
            "--attention must be one of dense, swa, local, strided, streaming, h2o");
}

TEST(TokenBudget, ShareOfVisibleTokens) {
  const auto o = options_for(attention_policy::swa, 0.8);
  EXPECT_EQ(token_budget(o, 10), 2);
  EXPECT_EQ(token_budget(o, 12), 2);   // 2.4
  EXPECT_EQ(token_budget(o, 13), 3);   // 2.6
  EXPECT_EQ(token_budget(o, 100), 20);
  EXPECT_EQ(token_budget(o, 2048), 410);  // 409.6
}

TEST(TokenBudget, RoundsHalfUpAsTheDecimalsRead) {
  EXPECT_EQ(token_budget(options_for(attention_policy::swa, 0.5), 5), 3);    // 2.5
  EXPECT_EQ(token_budget(options_for(attention_policy::swa, 0.5), 9), 5);    // 4.5
  EXPECT_EQ(token_budget(options_for(attention_policy::swa, 0.75), 10), 3);  // 2.5
  // 1.5000000000000002 and 0.49999999999999994 in binary:
  EXPECT_EQ(token_budget(options_for(attention_policy::swa, 0.7), 5), 2);
  EXPECT_EQ(token_budget(options_for(attention_policy::swa, 0.9, 1), 5), 1);
  EXPECT_EQ(token_budget(options_for(attention_policy::swa, 0.9, 1), 4), 1);  // 0.4 -> 0 -> floor 1
  EXPECT_EQ(token_budget(options_for(attention_policy::swa, 0.9, 1), 15), 2);  // 1.5
  EXPECT_EQ(token_budget(options_for(attention_policy::swa, 0.9, 1), 14), 1);  // 1.4
}

TEST(TokenBudget, FloorNeverExceedsVisible) {
  const auto o = options_for(attention_policy::swa, 0.8, /*min_budget=*/8);
  EXPECT_EQ(token_budget(o, 1), 1);
  EXPECT_EQ(token_budget(o, 5), 5);
  EXPECT_EQ(token_budget(o, 8), 8);
  EXPECT_EQ(token_budget(o, 9), 8);
  EXPECT_EQ(token_budget(o, 20), 8);  // 4 raised to the floor
  EXPECT_EQ(token_budget(o, 45), 9);
}

TEST(TokenBudget, CapApplies) {
  const auto o = options_for(attention_policy::swa, 0.5, 2, /*max_budget=*/16);
  EXPECT_EQ(token_budget(o, 20), 10);
  EXPECT_EQ(token_budget(o, 32), 16);
  EXPECT_EQ(token_budget(o, 1000), 16);
  // Sparsity 0 is dense until the cap bites.
  const auto capped_dense = options_for(attention_policy::swa, 0.0, 2, 16);
  EXPECT_EQ(token_budget(capped_dense, 16), 16);
  EXPECT_EQ(token_budget(capped_dense, 17), 16);
  // A cap equal to the floor fixes the budget.
  const auto fixed = options_for(attention_policy::swa, 0.3, 6, 6);
  EXPECT_EQ(token_budget(fixed, 3), 3);
  EXPECT_EQ(token_budget(fixed, 7), 6);
  EXPECT_EQ(token_budget(fixed, 500), 6);
}

TEST(TokenBudget, SparsityZeroIsEverything) {
  const auto o = options_for(attention_policy::swa, 0.0);
  for (int n = 1; n <= 300; ++n) EXPECT_EQ(token_budget(o, n), n);
}

// The selectors rely on it: budget(n) never falls and grows by at most one per position, and
// budget(n) == n only on a prefix of n.
TEST(TokenBudget, MonotoneByAtMostOnePerPosition) {
  for (double s : {0.0, 0.1, 0.2, 0.25, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 0.99}) {
    for (int min_budget : {1, 2, 7}) {
      for (int max_budget : {0, 7, 33}) {
        const auto o = options_for(attention_policy::swa, s, min_budget, max_budget);
        int previous = token_budget(o, 1);
        bool dense_so_far = previous == 1;
        EXPECT_EQ(previous, 1);
        for (int n = 2; n <= 2000; ++n) {
          const int b = token_budget(o, n);
          ASSERT_GE(b, 1);
          ASSERT_LE(b, n);
          ASSERT_TRUE(b == previous || b == previous + 1) << "s=" << s << " n=" << n;
          if (!dense_so_far) {
            ASSERT_LT(b, n) << "s=" << s << " n=" << n;
          }
          dense_so_far = dense_so_far && b == n;
          previous = b;
        }
      }
    }
  }
}

TEST(MakeTokenSelector, EveryPolicyBuilds) {
  for (auto p : {attention_policy::dense, attention_policy::swa, attention_policy::local,
                 attention_policy::strided, attention_policy::streaming, attention_policy::h2o}) {
    auto selector = make_token_selector(options_for(p, 0.5), 2, 2);
    ASSERT_NE(selector, nullptr);
    token_set set;
    selector->select(1, 1, set);
    EXPECT_TRUE(set.dense) << to_string(p);
  }
}

}  // namespace
}  // namespace alisa::scheduler
