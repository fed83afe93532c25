#pragma once
// spread_block_store — one block_store over several (one per memory node, usually
// remote_block_stores), so a worker's host tier can span nodes.
//
// Placement of a put:
//   1. the store that already holds the key (a replace stays in place while it fits there);
//   2. else the block's stripe while it has room: live store number (block index mod live
//      stores) for K and V, the next one for the hidden states, so consecutive blocks alternate
//      and losing one node never takes both a block's K/V and the hidden states that recompute it;
//   3. else the live store with the most free bytes.
// So every sequence's KV spreads over all memory nodes (a context larger than one node's budget
// fits, fetches of one step go to several nodes, and losing a node costs every sequence a share
// of its blocks rather than some sequences all of theirs).
// A store that answers full is skipped for the next candidate; put is full only when every live
// store is.
//
// Reads and erases go to the store that holds the key (a key -> store map kept here); erase of a
// sequence goes to every live store. A store that fails with Unavailable (its node is gone or
// timed out) is dropped: no more placements, and its keys become misses (NotFound), so the
// caller recomputes those blocks instead of failing. bytes_used() and budget_bytes() are the live
// stores' sums; node_usage() lists every store for reports.
//
// Ownership: owns the child stores. Thread affinity: one thread at a time (block_store.hpp); the
// calls block as long as the children's do.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "storage/block_store.hpp"

namespace alisa::actors {

struct store_usage {
  std::string name;
  uint64_t bytes_used = 0;
  uint64_t budget = 0;
  bool alive = true;
};

class spread_block_store final : public storage::block_store {
 public:
  // No store may be null. Stores are tried in this order when free bytes tie.
  explicit spread_block_store(std::vector<std::unique_ptr<storage::block_store>> stores);

  std::string_view name() const override { return "spread"; }
  uint64_t budget_bytes() const override;
  uint64_t bytes_used() const override;
  size_t num_values() const override { return location_.size(); }
  bool is_remote() const override;
  bool verifies_on_read() const override { return true; }  // each child checks its own values

  storage::put_result put(const storage::block_key& key, std::string_view value) override;
  absl::StatusOr<std::string_view> get(const storage::block_key& key,
                                       std::string& buffer) override;
  absl::StatusOr<std::string_view> get_rows(const storage::block_key& key,
                                            std::span<const int32_t> offsets,
                                            std::string& buffer) override;
  // Grouped by the node holding each key: one batch per node.
  std::vector<absl::StatusOr<std::string>> get_rows_batch(
      std::span<const storage::row_request> requests) override;
  absl::Status erase(const storage::block_key& key) override;
  absl::Status erase_sequence(uint64_t sequence) override;
  absl::Status flush() override;

  // A node that joined later (not null): placements consider it from the next put on.
  void add_store(std::unique_ptr<storage::block_store> store);

  std::vector<store_usage> node_usage() const;
  size_t num_live_stores() const;

 private:
  struct child {
    std::unique_ptr<storage::block_store> store;
    bool alive = true;
  };

  std::vector<size_t> placement_order(const std::string& encoded,
                                      const storage::block_key& key, uint64_t value_bytes) const;
  // Marks store i dead and forgets its keys when `s` says it is unreachable; returns s.
  absl::Status check_alive(size_t i, absl::Status s);
  void drop(size_t i);
  // The store holding the key, or NotFound.
  absl::StatusOr<size_t> holder(const storage::block_key& key) const;
  absl::StatusOr<std::string_view> read(const storage::block_key& key,
                                        std::span<const int32_t> offsets, std::string& buffer,
                                        bool rows);

  std::vector<child> children_;
  std::map<std::string, size_t> location_;         // encoded key -> child; ordered by sequence
};

}  // namespace alisa::actors
