// Prefix affinity: a job whose prompt starts like an earlier one goes to that job's worker (its
// prefix cache holds the blocks) unless that worker is dead or clearly busier.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "proto/kv_tier.hpp"
#include "scheduler/prefix_affinity.hpp"

namespace alisa::scheduler {
namespace {

std::vector<int32_t> prompt(int n, int32_t first) {
  std::vector<int32_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), first);
  return p;
}

TEST(PrefixAffinity, SignaturesNeedAWholeBlockAndDependOnItOnly) {
  EXPECT_FALSE(prefix_affinity::signature(prompt(kv_block_tokens, 0)));
  auto a = prefix_affinity::signature(prompt(kv_block_tokens + 1, 0));
  auto b = prompt(kv_block_tokens + 40, 0);
  b.back() = 999;  // differs after the first block: same signature
  ASSERT_TRUE(a);
  EXPECT_EQ(a, prefix_affinity::signature(b));
  EXPECT_NE(a, prefix_affinity::signature(prompt(kv_block_tokens + 1, 1)));
}

TEST(PrefixAffinity, ThePrefixWorkerWinsWithinTheSlack) {
  prefix_affinity affinity;
  std::vector<int> running = {0, 0, 0};
  std::vector<bool> alive = {true, true, true};
  auto run = [&](int w) { return running[static_cast<size_t>(w)]; };
  auto up = [&](int w) { return static_cast<bool>(alive[static_cast<size_t>(w)]); };
  const auto sig = prefix_affinity::signature(prompt(100, 0));
  EXPECT_EQ(affinity.choose(sig, 0, 2, run, up), 0) << "unknown prefix: the least loaded";
  affinity.record(sig, 2);
  EXPECT_EQ(affinity.choose(sig, 0, 2, run, up), 2);
  running[2] = 2;
  EXPECT_EQ(affinity.choose(sig, 0, 2, run, up), 2) << "within the slack";
  running[2] = 3;
  EXPECT_EQ(affinity.choose(sig, 0, 2, run, up), 0) << "clearly busier: the least loaded";
  running[2] = 0;
  alive[2] = false;
  EXPECT_EQ(affinity.choose(sig, 0, 2, run, up), 0) << "dead: the least loaded";
  affinity.forget_worker(2);
  EXPECT_EQ(affinity.size(), 0u);
  EXPECT_EQ(affinity.choose(std::nullopt, 1, 2, run, up), 1);
}

TEST(PrefixAffinity, RemembersTheMostRecentSignaturesOnly) {
  prefix_affinity affinity(2);
  auto run = [](int) { return 0; };
  auto up = [](int) { return true; };
  const auto a = prefix_affinity::signature(prompt(100, 0));
  const auto b = prefix_affinity::signature(prompt(100, 1));
  const auto c = prefix_affinity::signature(prompt(100, 2));
  affinity.record(a, 1);
  affinity.record(b, 1);
  affinity.record(c, 1);
  EXPECT_EQ(affinity.size(), 2u);
  EXPECT_EQ(affinity.choose(a, 0, 1, run, up), 0) << "the oldest was forgotten";
  EXPECT_EQ(affinity.choose(c, 0, 1, run, up), 1);
}

}  // namespace
}  // namespace alisa::scheduler
