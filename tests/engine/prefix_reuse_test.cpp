// The prefix cache: questions about one document share its prefix. A warm job replays the cached
// blocks and prefills only the rest, and its greedy tokens equal the same job run cold, for every
// attention policy, dense and tiered KV; what the cache holds stays within its budget.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "engine/prefix_cache.hpp"
#include "engine/step_loop.hpp"
#include "tests/engine/prefix_jobs.hpp"
#include "tests/support/shared_models.hpp"
#include "tests/support/stories_engine.hpp"

namespace alisa::engine {
namespace {

int expect_warm_equals_cold(engine_options o) {
  auto cold_engine = open_engine(o);
  o.prefix_cache_budget = 64 << 20;
  auto warm_engine = open_engine(o);
  if (!cold_engine || !warm_engine) return -1;
  const int vocab = cold_engine->config().vocab_size;
  const auto document = tokens(300, 1, vocab);
  const auto first = concat(document, tokens(12, 2, vocab));
  const auto second = concat(document, tokens(9, 3, vocab));
  EXPECT_EQ(ask(*warm_engine, 1, first, 24).cached_tokens, 0) << "nothing was cached yet";
  const answer warm = ask(*warm_engine, 2, second, 40);
  const answer cold = ask(*cold_engine, 2, second, 40);
  EXPECT_EQ(warm.tokens, cold.tokens);
  EXPECT_EQ(cold.cached_tokens, 0);
  return warm.cached_tokens;
}

TEST(PrefixReuse, WarmEqualsColdForEveryPolicy) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  using scheduler::attention_policy;
  for (auto policy : {attention_policy::dense, attention_policy::swa, attention_policy::streaming,
                      attention_policy::local, attention_policy::h2o}) {
    SCOPED_TRACE(std::string(scheduler::to_string(policy)));
    const int cached = expect_warm_equals_cold(with_policy(policy));
    if (policy == attention_policy::h2o)
      EXPECT_EQ(cached, 0) << "H2O scores every prompt row: its prompt is recomputed whole";
    else
      EXPECT_GE(cached, 192) << "the document's blocks before the scored tail are replayed";
    EXPECT_EQ(cached % kv_block_tokens, 0);
  }
}

TEST(PrefixReuse, WarmEqualsColdWithTieredKv) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  for (auto policy : {scheduler::attention_policy::dense, scheduler::attention_policy::swa}) {
    SCOPED_TRACE(std::string(scheduler::to_string(policy)));
    engine_options o = with_policy(policy);
    o.tiers.device_budget = 256 * 1024;
    o.tiers.host_budget = 8 << 20;
    EXPECT_GE(expect_warm_equals_cold(o), 192);
  }
}

// A GQA model (8 query heads over 2 KV heads), synthetic weights.
TEST(PrefixReuse, WarmEqualsColdOnAGqaModel) {
  for (auto policy : {scheduler::attention_policy::dense, scheduler::attention_policy::swa}) {
    SCOPED_TRACE(std::string(scheduler::to_string(policy)));
    engine_options o = with_policy(policy);
    o.model = "synthetic:tiny-gqa";
    EXPECT_GE(expect_warm_equals_cold(o), 192);
  }
}

TEST(PrefixReuse, AnotherDocumentIsNotServedFromTheCache) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  engine_options o;
  o.prefix_cache_budget = 64 << 20;
  auto engine = testing::open_stories_engine(o);
  ASSERT_TRUE(engine);
  const int vocab = engine->config().vocab_size;
  auto document = tokens(300, 1, vocab);
  ask(*engine, 1, document, 4);
  auto edited = document;
  edited[100] = edited[100] == 5 ? 6 : 5;  // block 1 differs: only block 0 matches
  EXPECT_EQ(ask(*engine, 2, edited, 4).cached_tokens, 64);
  EXPECT_EQ(ask(*engine, 3, tokens(300, 9, vocab), 4).cached_tokens, 0);
}

TEST(PrefixCache, LookupFollowsTheChainAndEvictionKeepsTheBudget) {
  prefix_cache_shape shape{2, 4, 8, false};
  const size_t block_bytes = 2 * 2 * kv_block_tokens * 4 * sizeof(float);
  prefix_cache cache(3 * block_bytes, shape, "model");
  std::vector<int32_t> doc(4 * kv_block_tokens);
  std::iota(doc.begin(), doc.end(), 0);
  EXPECT_TRUE(cache.lookup(doc, 4).empty());
  for (int b = 0; b < 3; ++b) cache.publish(cache.make_block(doc, b));
  EXPECT_EQ(cache.lookup(doc, 4).size(), 3u);
  EXPECT_EQ(cache.lookup(doc, 2).size(), 2u);
  EXPECT_EQ(cache.stats().bytes, 3 * block_bytes);
  // A fourth block evicts the least recently used: the deepest (a lookup refreshes leaf first).
  cache.publish(cache.make_block(doc, 3));
  EXPECT_LE(cache.stats().bytes, 3 * block_bytes);
  EXPECT_EQ(cache.stats().blocks_evicted, 1u);
  EXPECT_TRUE(cache.contains(doc, 0));
  EXPECT_TRUE(cache.contains(doc, 1));
  // The same tokens under another model identity share nothing.
  prefix_cache other(3 * block_bytes, shape, "another model");
  EXPECT_FALSE(other.contains(doc, 0));
  // A block whose parent differs is not the same block even with the same 64 tokens.
  std::vector<int32_t> shifted = doc;
  shifted[0] = 999;
  EXPECT_EQ(cache.lookup(shifted, 4).size(), 0u);
}

}  // namespace
}  // namespace alisa::engine
