#pragma once
// prefix_cache — K/V of prompt prefixes kept after their jobs end, so a job whose prompt starts
// the same way (many questions about one long document) skips that prefill.
//
//   job A prefills ──kv_tap copies its prompt rows──> publish(complete 64-token blocks)
//   job B starts   ──lookup(longest cached prefix)──> replay the rows into B's KV ──> prefill the rest
//
// Tiers: host RAM (--prefix-cache-budget), then the levels below it (prefix_store_level.hpp): an
// NVMe level (--prefix-cache-dir, kept across restarts with --kv-cache-persist) and a cluster's
// memory nodes, which every worker shares. Publishing writes through to every level; a lookup
// takes each block from the first tier that has it and copies it up into RAM.
//
// Content-addressed: a block's key chains a 128-bit hash of its 64 token ids onto its parent's key
// (the root key hashes the model identity and KV dtype), and an entry also keeps its tokens and
// its parent's key, which lookup compares, so a hash collision can only cause a miss. Blocks are
// read-only and shared (prefix_block_ref); a job replays them into its own KV, so evicting never
// touches a running job.
// Host RAM evicts by a cost-aware LRU (prefix_eviction.hpp): only blocks without cached children
// are candidates (a deeper block is only reachable through its parents), the least recently
// used first, and among blocks used alike the cheaper to recompute (shallower) first. The levels
// below evict least recently used first.
//
// Exactness: only rows that a cold prefill computes with dense, unobserved attention are published
// or reused (the positions before the job's scored tail, attention_selection::prefill_tail_rows),
// so a warm job's tokens equal its cold ones for every policy; the tail is recomputed.
//
// Owned by the engine; one thread (the step loop's) uses it.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/prefix_cache_types.hpp"
#include "engine/prefix_eviction.hpp"
#include "engine/prefix_store_level.hpp"

namespace alisa::engine {

struct prefix_cache_stats {
  uint64_t lookups = 0;
  uint64_t hit_tokens = 0;  // prompt tokens served from the cache, every tier
  std::array<uint64_t, num_prefix_tiers> hit_tokens_by_tier{};  // where they were found
  uint64_t blocks_published = 0;
  uint64_t blocks_evicted = 0;  // from host RAM
  size_t bytes = 0;             // host RAM held now
};

// A block as a lookup hands it out: it stays valid while held, even if the cache evicts it.
using prefix_block_ref = std::shared_ptr<const prefix_block>;

class prefix_cache {
 public:
  // `identity` names what the rows depend on (the weights' fingerprint, dtypes, shapes): it
  // seeds the root key. budget_bytes is host RAM; 0 keeps no block in RAM (only in the levels
  // added below, which must then exist for the cache to hold anything).
  prefix_cache(size_t budget_bytes, prefix_cache_shape shape, const std::string& identity);

  // A level below host RAM, searched after RAM and the levels added before it; every published
  // block is written through to it.
  void add_level(std::unique_ptr<prefix_store_level> level);
  // The level of that tier, or nullptr.
  prefix_store_level* level(prefix_tier tier);
  const std::vector<std::unique_ptr<prefix_store_level>>& levels() const { return levels_; }

  // The cached blocks continuing `tokens` from position 0, in order: at most max_blocks, only
  // complete blocks of `tokens`. A block found below RAM is copied up into RAM. Refreshes them
  // (they are the most recently used).
  std::vector<prefix_block_ref> lookup(std::span<const int32_t> tokens, int max_blocks);

  // A block for `tokens`' block `index` to fill and publish(); nullptr when it is cached already.
  // The parent chain is computed from `tokens`.
  prefix_block make_block(std::span<const int32_t> tokens, int index) const;
  bool contains(std::span<const int32_t> tokens, int index) const;
  // Takes a filled block (sizes per shape()), writes it through to every level and keeps it in
  // RAM, evicting least recently used blocks for room. A block larger than the whole RAM budget
  // stays out of RAM.
  void publish(prefix_block block);

  const prefix_cache_shape& shape() const { return shape_; }
  const prefix_cache_stats& stats() const { return stats_; }
  size_t budget() const { return budget_; }

 private:
  struct key_hash {
    size_t operator()(const prefix_key& k) const { return static_cast<size_t>(k.hi ^ (k.lo * 31)); }
  };
  struct entry {
    prefix_block_ref block;
  };
  prefix_key key_of(const prefix_key& parent, std::span<const int32_t> block_tokens) const;
  // The key of tokens' block `index` and of its parent.
  std::pair<prefix_key, prefix_key> keys_at(std::span<const int32_t> tokens, int index) const;
  const entry* find(const prefix_key& key, const prefix_key& parent,
                    std::span<const int32_t> block_tokens) const;
  void evict_one();
  // Keeps the block in RAM when the budget allows; returns it as a lookup hands it out.
  prefix_block_ref keep(prefix_block block);
  // The keys of tokens' first n blocks.
  std::vector<prefix_wanted> chain_of(std::span<const int32_t> tokens, int n) const;
  // Extends `blocks` (a run of chain's first blocks) from the levels below RAM, each level
  // continuing where the one before stopped; counts the hits by tier.
  void extend_from_levels(std::span<const prefix_wanted> chain, std::vector<prefix_block_ref>& blocks);
  void extend_from(prefix_store_level& level, std::span<const prefix_wanted> chain,
                   std::vector<prefix_block_ref>& blocks);

  size_t budget_;
  prefix_cache_shape shape_;
  prefix_key root_;
  std::unordered_map<prefix_key, entry, key_hash> entries_;
  prefix_eviction eviction_;  // which RAM block leaves first
  std::vector<std::unique_ptr<prefix_store_level>> levels_;
  prefix_cache_stats stats_;
};

}  // namespace alisa::engine
