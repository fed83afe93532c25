// prefix_eviction: the cost-aware LRU of the prefix cache's host RAM. A parent never leaves
// before its cached children; among blocks used alike, the cheaper to recompute leaves first; a
// block unused for long leaves before a fresh one, however costly.
#include "engine/prefix_eviction.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "engine/prefix_cache.hpp"

namespace alisa::engine {
namespace {

prefix_key key(uint64_t i) { return {i, i * 7 + 1}; }
const prefix_key root{0, 0};

// A chain root -> key(first) -> key(first+1) ... of `n` blocks, costs 1, 2, ...
void chain(prefix_eviction& e, uint64_t first, int n, double cost_step = 1.0) {
  prefix_key parent = root;
  for (int d = 0; d < n; ++d) {
    e.insert(key(first + d), parent, 1.0 + d * cost_step);
    parent = key(first + d);
  }
}

TEST(PrefixEviction, AParentNeverLeavesBeforeItsChildren) {
  prefix_eviction e;
  chain(e, 1, 4);
  for (uint64_t expected : {4, 3, 2, 1}) {
    ASSERT_EQ(e.victim(), key(expected));
    e.erase(*e.victim());
  }
  EXPECT_FALSE(e.victim().has_value());
}

TEST(PrefixEviction, AmongBlocksUsedAlikeTheCheaperToRecomputeLeavesFirst) {
  prefix_eviction e;
  chain(e, 10, 8, 2.0);  // a deep document: its leaf costs 15
  e.insert(key(100), root, 1.0);  // a one-block prompt, inserted later: costs 1
  EXPECT_EQ(e.victim(), key(100)) << "plain LRU would evict the older document's leaf";
}

TEST(PrefixEviction, EqualCostsAreLeastRecentlyUsedFirst) {
  prefix_eviction e;
  for (uint64_t i = 1; i <= 3; ++i) e.insert(key(i), root, 1.0);
  e.use(key(1));
  EXPECT_EQ(e.victim(), key(2));
  e.erase(key(2));
  EXPECT_EQ(e.victim(), key(3));
}

TEST(PrefixEviction, ACostlyBlockUnusedForLongLosesToFreshOnes) {
  prefix_eviction e;
  e.insert(key(1), root, 5.0);  // costly, never used again
  for (uint64_t i = 2; i < 40; ++i) {
    e.insert(key(i), root, 1.0);
    const prefix_key v = *e.victim();
    e.erase(v);  // a cache of room for one block fewer than it is offered
    if (v == key(1)) return;  // inflation overtook it
  }
  ADD_FAILURE() << "the costly block was never evicted";
}

TEST(PrefixEviction, TheCacheEvictsAShortPromptBeforeADeepDocumentsLeaf) {
  prefix_cache_shape shape{2, 4, 8, false};
  shape.linear_flops_per_token = 1000;
  shape.attention_flops_per_key = 100;  // attention dominates deep blocks
  const size_t block_bytes = 2 * 2 * kv_block_tokens * 4 * sizeof(float);
  prefix_cache cache(5 * block_bytes, shape, "m");
  std::vector<int32_t> doc(4 * kv_block_tokens), other(kv_block_tokens);
  for (size_t i = 0; i < doc.size(); ++i) doc[i] = static_cast<int32_t>(i % 97);
  for (size_t i = 0; i < other.size(); ++i) other[i] = static_cast<int32_t>(500 + i);
  for (int b = 0; b < 4; ++b) cache.publish(cache.make_block(doc, b));
  cache.publish(cache.make_block(other, 0));
  std::vector<int32_t> third(kv_block_tokens, 7);
  cache.publish(cache.make_block(third, 0));  // over budget: one block leaves
  EXPECT_EQ(cache.stats().blocks_evicted, 1u);
  EXPECT_EQ(cache.lookup(doc, 4).size(), 4u) << "the deep document stays whole";
  EXPECT_TRUE(cache.lookup(other, 1).empty() || cache.lookup(third, 1).empty());
}

}  // namespace
}  // namespace alisa::engine
