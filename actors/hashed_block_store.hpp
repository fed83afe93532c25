#pragma once
// hashed_block_store — one block_store over several (one per memory node) that places every key
// on the store chosen by rendezvous hashing of (key, the store's label), with no map of where
// keys went. So every worker that knows the same memory nodes, in whatever order it learnt them,
// looks for a key where any other worker put it: this is how a prefix block one worker computed
// is found by another (engine/prefix_store_level.hpp's shared level). Labels are the nodes'
// endpoints, the same on every worker.
//
// A store that fails with Unavailable (its node is gone or timed out) stays in the ring, dead:
// its keys are misses (NotFound) and puts to it fail, so the caller recomputes; keys never move
// to another node behind other workers' backs. bytes_used() and num_values() count only what
// this store put (values other workers put, or the memory tier evicted, are not seen).
//
// Ownership: owns the child stores. Thread affinity: one thread at a time (block_store.hpp).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "storage/block_store.hpp"

namespace alisa::actors {

class hashed_block_store final : public storage::block_store {
 public:
  hashed_block_store() = default;

  // Adds a store under `label` (not null; labels unique). Keys whose rendezvous winner is the
  // new store move to it: they are misses until put again.
  void add_store(std::string label, std::unique_ptr<storage::block_store> store);
  size_t num_stores() const { return children_.size(); }

  std::string_view name() const override { return "hashed"; }
  uint64_t budget_bytes() const override;
  uint64_t bytes_used() const override;
  size_t num_values() const override;
  bool is_remote() const override { return true; }
  bool verifies_on_read() const override { return true; }  // each child checks its own values

  storage::put_result put(const storage::block_key& key, std::string_view value) override;
  absl::StatusOr<std::string_view> get(const storage::block_key& key,
                                       std::string& buffer) override;
  // Grouped by owner: one batch (one round trip) per node.
  std::vector<absl::StatusOr<std::string>> get_rows_batch(
      std::span<const storage::row_request> requests) override;
  absl::Status erase(const storage::block_key& key) override;
  absl::Status erase_sequence(uint64_t sequence) override;

 private:
  struct child {
    std::string label;
    uint64_t label_hash = 0;
    std::unique_ptr<storage::block_store> store;
    bool alive = true;
  };
  // The child that owns `key`, or nullptr when there is none.
  child* owner(const storage::block_key& key);
  // Marks c dead when `s` says its store is unreachable; returns s.
  absl::Status check_alive(child& c, absl::Status s);

  std::vector<child> children_;
};

}  // namespace alisa::actors
