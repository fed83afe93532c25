// fair_share: max-min fair splits, leftovers to the earliest unsatisfied claimants.
#include <gtest/gtest.h>

#include <vector>

#include "scheduler/fair_share.hpp"

namespace alisa::scheduler {
namespace {

using shares = std::vector<uint64_t>;

shares split(const shares& needs, uint64_t capacity) { return fair_shares(needs, capacity); }

TEST(FairShares, EqualNeedsGetEqualShares) {
  EXPECT_EQ(split({10, 10}, 6), (shares{3, 3}));
  EXPECT_EQ(split({10, 10, 10}, 12), (shares{4, 4, 4}));
}

TEST(FairShares, LeftoverUnitsGoToTheEarliest) {
  EXPECT_EQ(split({10, 10, 10}, 13), (shares{5, 4, 4}));
  EXPECT_EQ(split({10, 10, 10}, 14), (shares{5, 5, 4}));
}

TEST(FairShares, SmallNeedsLeaveTheRestToOthers) {
  EXPECT_EQ(split({2, 20}, 10), (shares{2, 8}));
  EXPECT_EQ(split({20, 3, 20}, 13), (shares{5, 3, 5}));
  EXPECT_EQ(split({20, 3, 20}, 14), (shares{6, 3, 5}));
}

TEST(FairShares, EnoughCapacityMeetsEveryNeed) {
  EXPECT_EQ(split({4, 0, 7}, 11), (shares{4, 0, 7}));
  EXPECT_EQ(split({4, 0, 7}, 1000), (shares{4, 0, 7}));
}

TEST(FairShares, NothingToSplit) {
  EXPECT_EQ(split({5, 5}, 0), (shares{0, 0}));
  EXPECT_EQ(split({}, 10), shares{});
}

}  // namespace
}  // namespace alisa::scheduler
