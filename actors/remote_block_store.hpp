#pragma once
// remote_block_store — a storage::block_store whose operations are requests to one memory_tier
// actor (actors/memory_tier.hpp): in this process or a proxy for one on another node, the same
// code. This is how a GPU worker's tiered KV store uses a memory node as its host tier.
//
// Token-granular: get_rows() sends the offsets and only those rows travel back. bytes_used() and
// num_values() are counted here from this store's own puts and erases (no round trip per call),
// so they cover what this store put, not what other workers put into the same tier; the tier's
// own put answers full when it is full. budget_bytes() is the tier's total (host + NVMe), asked
// once when connecting.
//
// Failure: every request waits at most `timeout`. A timeout, a tier that is gone (it exited, or
// its node or the connection died) or any transport error makes the operation fail (Unavailable,
// or put_outcome::failed) and marks the store dead; from then on every operation fails at once
// without sending, so a lost node costs one timeout at most, never a hang. When CAF reports the
// tier's exit (it exited, or its node disconnected) the request in flight fails at once and no
// timeout is paid; only a node that hangs without disconnecting costs the full timeout. The
// tier's own answers map to: not_found -> NotFound, data_loss -> DataLoss, invalid_argument ->
// InvalidArgument, io_error -> Unavailable (the store stays alive: its next request may succeed).
//
// Ownership and thread affinity: blocking calls from one thread at a time: a non-actor thread or
// a detached actor's. From an event-based actor each call blocks one of CAF's scheduler workers
// for a round trip (a local tier on the same scheduler then needs a second worker to answer).
// Holds a caf::scoped_actor: destroy the store before its actor_system.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "caf/fwd.hpp"
#include "proto/messages.hpp"
#include "storage/block_store.hpp"

namespace alisa::actors {

struct remote_block_store_options {
  std::string name = "remote";  // in errors and per-node reports, e.g. "memory node 2"
  std::chrono::milliseconds timeout{10'000};  // per request; > 0
};

class remote_block_store final : public storage::block_store {
 public:
  ~remote_block_store() override;

  std::string_view name() const override { return name_; }
  uint64_t budget_bytes() const override { return budget_bytes_; }
  uint64_t bytes_used() const override { return bytes_used_; }
  size_t num_values() const override { return value_bytes_.size(); }
  bool is_remote() const override { return true; }
  // Values are checked where they are stored: the tier verifies NVMe checksums before slicing.
  bool verifies_on_read() const override { return true; }

  storage::put_result put(const storage::block_key& key, std::string_view value) override;
  absl::StatusOr<std::string_view> get(const storage::block_key& key,
                                       std::string& buffer) override;
  absl::StatusOr<std::string_view> get_rows(const storage::block_key& key,
                                            std::span<const int32_t> offsets,
                                            std::string& buffer) override;
  // One kv_fetch_batch round trip for all of them.
  std::vector<absl::StatusOr<std::string>> get_rows_batch(
      std::span<const storage::row_request> requests) override;
  absl::Status erase(const storage::block_key& key) override;
  absl::Status erase_sequence(uint64_t sequence) override;

  // False once a request timed out or the tier was found gone.
  bool alive() const { return !dead_->load(); }

 private:
  struct channel;  // the scoped actor and the tier handle (CAF headers stay in the .cpp)
  friend absl::StatusOr<std::unique_ptr<remote_block_store>> connect_remote_block_store(
      caf::actor_system& system, const caf::actor& tier, remote_block_store_options options);
  remote_block_store(std::unique_ptr<channel> ch, std::string name);

  absl::Status dead_error() const;
  // The status of a request that got no reply; marks the store dead when the tier is unreachable.
  absl::Status request_failed(const caf::error& err);
  absl::Status erase_status(const kv_erase_result& reply) const;
  void forget(const std::string& encoded_key);

  std::unique_ptr<channel> channel_;
  std::string name_;
  std::shared_ptr<std::atomic<bool>> dead_;  // also set when CAF reports the tier's exit
  uint64_t budget_bytes_ = 0;
  uint64_t bytes_used_ = 0;
  std::map<std::string, uint64_t> value_bytes_;  // encoded key -> size; ordered for sequences
};

// Asks the tier for its usage (one request, so an unreachable tier is this call's Unavailable
// error) and returns a store over it. InvalidArgument for a null tier or a zero timeout.
absl::StatusOr<std::unique_ptr<remote_block_store>> connect_remote_block_store(
    caf::actor_system& system, const caf::actor& tier, remote_block_store_options options = {});

}  // namespace alisa::actors
