#pragma once
// prefix_cache — K/V of prompt prefixes kept in host RAM after their jobs end, so a job whose
// prompt starts the same way (many questions about one long document) skips that prefill.
//
//   job A prefills ──kv_tap copies its prompt rows──> publish(complete 64-token blocks)
//   job B starts   ──lookup(longest cached prefix)──> replay the rows into B's KV ──> prefill the rest
//
// Content-addressed: a block's key chains a 128-bit hash of its 64 token ids onto its parent's key
// (the root key hashes the model identity and KV dtype), and an entry also keeps its tokens and
// its parent's key, which lookup compares, so a hash collision can only cause a miss. Entries are
// copies: a running job never shares memory with the cache, so evicting never touches a job.
// Least recently used goes first; a lookup refreshes the path leaf first, so a prefix's root
// outlives its deeper blocks (a deeper block is only reachable through its parents).
//
// Exactness: only rows that a cold prefill computes with dense, unobserved attention are published
// or reused (the positions before the job's scored tail, attention_selection::prefill_tail_rows),
// so a warm job's tokens equal its cold ones for every policy; the tail is recomputed.
//
// Owned by the engine; one thread (the step loop's) uses it.
#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "proto/kv_tier.hpp"

namespace alisa::engine {

struct prefix_key {
  uint64_t hi = 0, lo = 0;
  bool operator==(const prefix_key&) const = default;
};

// One kv_block_tokens-token block of a prompt, every layer: keys and values fp32
// [layer][kv_block_tokens][kv_dim]; hidden [layer][kv_block_tokens][hidden_size] when kept (a
// tiered engine recomputes from it), else empty.
struct prefix_block {
  prefix_key key, parent;
  std::array<int32_t, kv_block_tokens> tokens{};
  std::vector<float> keys, values, hidden;
  size_t num_bytes() const { return (keys.size() + values.size() + hidden.size()) * sizeof(float); }
};

struct prefix_cache_shape {
  int num_layers = 0;
  int kv_dim = 0;
  int hidden_size = 0;
  bool keep_hidden = false;
};

struct prefix_cache_stats {
  uint64_t lookups = 0;
  uint64_t hit_tokens = 0;    // prompt tokens served from the cache
  uint64_t blocks_published = 0;
  uint64_t blocks_evicted = 0;
  size_t bytes = 0;           // held now
};

class prefix_cache {
 public:
  // `identity` names what the rows depend on (engine/model_identity.hpp's text and the KV dtype):
  // it seeds the root key. budget_bytes > 0.
  prefix_cache(size_t budget_bytes, prefix_cache_shape shape, const std::string& identity);

  // The cached blocks continuing `tokens` from position 0, in order: at most max_blocks, only
  // complete blocks of `tokens`. Refreshes them (they are the most recently used).
  std::vector<const prefix_block*> lookup(std::span<const int32_t> tokens, int max_blocks);

  // A block for `tokens`' block `index` to fill and publish(); nullptr when it is cached already.
  // The parent chain is computed from `tokens`.
  prefix_block make_block(std::span<const int32_t> tokens, int index) const;
  bool contains(std::span<const int32_t> tokens, int index) const;
  // Takes a filled block (sizes per shape()); evicts least recently used blocks for room. A block
  // larger than the whole budget is dropped.
  void publish(prefix_block block);

  const prefix_cache_shape& shape() const { return shape_; }
  size_t block_floats() const {  // keys (or values) of one block, every layer
    return static_cast<size_t>(shape_.num_layers) * kv_block_tokens * shape_.kv_dim;
  }
  size_t hidden_floats() const {
    return shape_.keep_hidden
               ? static_cast<size_t>(shape_.num_layers) * kv_block_tokens * shape_.hidden_size
               : 0;
  }
  const prefix_cache_stats& stats() const { return stats_; }
  size_t budget() const { return budget_; }

 private:
  struct key_hash {
    size_t operator()(const prefix_key& k) const { return static_cast<size_t>(k.hi ^ (k.lo * 31)); }
  };
  struct entry {
    prefix_block block;
    std::list<prefix_key>::iterator recency;  // position in lru_ (front = most recent)
  };
  prefix_key key_of(const prefix_key& parent, std::span<const int32_t> block_tokens) const;
  // The key of tokens' block `index` and of its parent.
  std::pair<prefix_key, prefix_key> keys_at(std::span<const int32_t> tokens, int index) const;
  const entry* find(const prefix_key& key, const prefix_key& parent,
                    std::span<const int32_t> block_tokens) const;
  void touch(entry& e);
  void evict_one();

  size_t budget_;
  prefix_cache_shape shape_;
  prefix_key root_;
  std::unordered_map<prefix_key, entry, key_hash> entries_;
  std::list<prefix_key> lru_;
  prefix_cache_stats stats_;
};

}  // namespace alisa::engine
