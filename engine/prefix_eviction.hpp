#pragma once
// prefix_eviction — which host-RAM prefix block leaves first: a cost-aware LRU (GreedyDual) over
// the cache's forest of blocks.
//
//   credit(block) = inflation at its last use + its recompute cost
//   victim        = the leaf (no cached child) with the least credit, the least recently used
//                   among equal credits; inflation rises to the victim's credit
//
// So a block unused for a while loses to fresh ones (inflation overtakes it), and between blocks
// used alike the cheaper to recompute leaves first: a shallow block (its prefill attends to few
// keys) before a deep one. Only leaves are candidates, because a block is only reachable through
// its parents: evicting a parent would strand its children. Costs are relative (any unit).
//
// Pure bookkeeping; one thread (the cache's).
#include <cstdint>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>

#include "engine/prefix_cache_types.hpp"

namespace alisa::engine {

class prefix_eviction {
 public:
  // A block now cached; `parent` may or may not be cached (the root's parent never is).
  void insert(const prefix_key& key, const prefix_key& parent, double cost);
  // A lookup used the block: its credit is renewed.
  void use(const prefix_key& key);
  // The next block to evict (a leaf), or nullopt when none is cached.
  std::optional<prefix_key> victim() const;
  // The block left the cache (normally victim()); inflation rises to its credit.
  void erase(const prefix_key& key);
  size_t size() const { return nodes_.size(); }

 private:
  struct node {
    prefix_key parent;
    double cost = 0;
    double credit = 0;
    uint64_t used = 0;  // use counter at its last use: recency among equal credits
    int children = 0;   // cached children
  };
  using ordered_key = std::pair<uint64_t, uint64_t>;
  static ordered_key order(const prefix_key& k) { return {k.hi, k.lo}; }
  struct key_hash {
    size_t operator()(const prefix_key& k) const { return static_cast<size_t>(k.hi ^ (k.lo * 31)); }
  };

  void set_leaf(const prefix_key& key, const node& n, bool leaf);

  std::unordered_map<prefix_key, node, key_hash> nodes_;
  using leaf_rank = std::pair<std::pair<double, uint64_t>, ordered_key>;  // ((credit, used), key)
  static leaf_rank rank(const prefix_key& k, const node& n) { return {{n.credit, n.used}, order(k)}; }
  std::set<leaf_rank> leaves_;  // every leaf, the victim first
  double inflation_ = 0;
  uint64_t uses_ = 0;
};

}  // namespace alisa::engine
