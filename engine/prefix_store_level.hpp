#pragma once
// prefix_store_level — one level of the prefix cache (prefix_cache.hpp) below host RAM: encoded
// blocks (prefix_block_codec.hpp) in a storage::block_store. Two kinds:
//   - owned (the NVMe level, --prefix-cache-dir): only this engine writes the store, so the level
//     keeps an index of what it holds, least recently used first out, and evicts to make room;
//   - shared (a cluster's memory nodes): every worker reads and writes it. The memory tier makes
//     room itself, dropping prefix values before refusing a job's block (actors/memory_tier.hpp),
//     so a put is best-effort and the level keeps no index.
// A value that does not decode or verify (a corrupt disk block, another model's entry) is erased
// and is a miss, as is any store error (a dead memory node, a failing disk): the job then
// recomputes those rows. Never an exception, never a wrong row.
//
// The engine's thread only (the step loop's).
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/prefix_cache_types.hpp"
#include "storage/block_store.hpp"

namespace alisa::engine {

struct prefix_level_stats {
  uint64_t rejected = 0;  // values that failed to decode or verify (erased)
  uint64_t errors = 0;    // store operations that failed (I/O, unreachable)
  uint64_t evicted = 0;   // blocks the owned level dropped for room
};

class prefix_store_level {
 public:
  prefix_store_level(prefix_tier tier, std::unique_ptr<storage::block_store> store, bool owned);

  prefix_tier tier() const { return tier_; }
  bool owned() const { return owned_; }
  storage::block_store& store() { return *store_; }

  // Owned level: learns the prefix values the store already holds (a persistent NVMe level
  // reopened), in the given order as least to most recently used.
  void index_existing(std::span<const std::pair<storage::block_key, uint64_t>> contents);

  // Writes the block unless the owned level holds it already; makes room by evicting. Failures
  // are counted, not raised: the cache above still holds or recomputes the block.
  void put(const prefix_block& block);

  // The verified blocks of `wanted` (consecutive blocks of one prompt), in order, up to the first
  // this level lacks or cannot verify. Fetched in one batch: one round trip per memory node, or
  // the NVMe reads in parallel. (requests + fetch + accept_run + finish.)
  std::vector<prefix_block> get_run(std::span<const prefix_wanted> wanted,
                                    const prefix_cache_shape& shape);

  // The same in steps, so a lookup can fetch one batch while it decodes the one before:
  //   requests()   engine thread: the reads for `wanted`, up to the first block an owned level
  //                knows it lacks;
  //   fetch()      any one thread at a time (no other call on this level runs meanwhile but
  //                requests() and accept_run()): the stored values;
  //   accept_run() engine thread: decodes and verifies them in order, up to the first unusable;
  //   finish()     engine thread, no fetch in flight: erases the damaged values accept_run found.
  std::vector<storage::row_request> requests(std::span<const prefix_wanted> wanted) const;
  std::vector<absl::StatusOr<std::string>> fetch(std::span<const storage::row_request> requests);
  std::vector<prefix_block> accept_run(std::span<const prefix_wanted> wanted,
                                       std::vector<absl::StatusOr<std::string>>& values,
                                       const prefix_cache_shape& shape);
  void finish();

  // Value bytes the owned level holds (the shared level does not know: 0).
  uint64_t bytes() const { return owned_ ? store_->bytes_used() : 0; }
  const prefix_level_stats& stats() const { return stats_; }

 private:
  using encoded_key = std::string;
  // Decodes and verifies one fetched value; nullopt (counted, and erased when damaged) if unusable.
  std::optional<prefix_block> accept(const prefix_wanted& w, absl::StatusOr<std::string>& value,
                                     const prefix_cache_shape& shape);
  void touch(const encoded_key& key);
  void forget(const encoded_key& key);
  bool evict_one();

  prefix_tier tier_;
  std::unique_ptr<storage::block_store> store_;
  bool owned_;
  std::list<encoded_key> lru_;  // owned: front = most recently used
  std::unordered_map<encoded_key, std::list<encoded_key>::iterator> index_;
  std::vector<storage::block_key> damaged_;  // found by accept_run, erased by finish()
  prefix_level_stats stats_;
};

}  // namespace alisa::engine
