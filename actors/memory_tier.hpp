#pragma once
// memory_tier — the actor that holds KV blocks and hidden states for GPU workers: host RAM of
// host_budget bytes, spilling to a RocksDB store on NVMe (nvme_dir, nvme_budget) when RAM is full
// (storage/spill_store.hpp). It may run in the worker's process or on another node; workers talk
// to it through actors/remote_block_store.hpp, the same code either way.
//
// Protocol (proto/messages.hpp; every request gets exactly one reply):
//
//   worker                                       memory_tier
//     │ ──kv_payload{key, offsets={}, bytes}──────>  put the whole value
//     │ <──kv_put_result{stored|full|failed, error}─
//     │ ──kv_fetch{key, offsets}──────────────────>  get_rows: only those rows
//     │ <──kv_payload{key, offsets, bytes}─────────   bytes = encoded value of the rows
//     │ <──error(tier_error::not_found|data_loss|invalid_argument|io_error, why)
//     │ ──kv_erase{key | whole_sequence}──────────>
//     │ <──kv_erase_result{error (empty = ok)}─────
//     │ ──tier_usage_request──────────────────────>
//     │ <──tier_usage{node, host used/budget, nvme used/budget}
//     │ ──kv_fetch_batch{fetches}─────────────────>  each fetch as above
//     │ <──kv_payload_batch{payloads, status}──────   status[i]: 0 or the tier_error code
//   coordinator ──kv_erase_owner{owner}──> memory_tier ──kv_erase_result──> (a dead worker's KV)
//
// Prefix-cache blocks (part kv_part::prefix, engine/prefix_store_level.hpp) are shared by every
// worker and owned by none: the tier keeps them least recently used first out, and drops them to
// make room, oldest first, when a put (a job's block or a newer prefix block) finds it full. So
// they only ever use room no job needs.
//
// A fetch that finds nothing usable answers with a caf::error in the "alisa_tier" category
// (proto/caf_messages.hpp), never with an empty payload: the requester's error handler is where
// a miss turns into a recompute, and not_found (absent) stays distinguishable from data_loss
// (corrupt) and io_error. Empty offsets fetch the whole stored value. "Full" on a put is a
// result, not an error (the worker keeps or drops the block). A kv_payload with offsets set is
// not a whole value and is refused (invalid_argument). Unknown messages are dropped.
//
// Thread affinity: the actor owns its store and is an ordinary scheduled actor. RocksDB calls
// block a scheduler worker while they run; it is not spawned detached because CAF 0.17 can hang
// at actor_system shutdown with detached actors (actor-framework issue #1196; memory_tier.cpp).
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <cstdint>
#include <memory>
#include <list>
#include <set>
#include <unordered_map>
#include <string>

#include "absl/status/statusor.h"
#include "proto/ids.hpp"
#include "storage/spill_store.hpp"

namespace alisa::actors {

struct memory_tier_options {
  node_id node;                  // reported in tier_usage
  uint64_t host_budget = 0;      // bytes of RAM; 0 = every value goes to NVMe (if any)
  std::string nvme_dir;          // empty = no NVMe spill; else created, old RocksDB files destroyed
  uint64_t nvme_budget = 0;      // bytes; required (> 0) with nvme_dir
  uint64_t nvme_write_buffer = uint64_t{8} << 20;  // see storage::rocksdb_store_options
};

// The store a memory tier owns, opened on the calling thread: InvalidArgument for bad options,
// the RocksDB store's errors for a bad nvme_dir.
absl::StatusOr<std::unique_ptr<storage::spill_store>> open_memory_tier_store(
    const memory_tier_options& options);

struct memory_tier_state {
  static inline const char* name = "alisa.memory_tier";
  node_id node;
  std::unique_ptr<storage::spill_store> store;  // set by the behavior function
  std::string buffer;                           // reused by fetches
  std::set<uint64_t> sequences;  // sequences with values here (kv_erase_owner walks a range)
  // Encoded keys of the prefix blocks held, front = most recently used.
  std::list<std::string> prefix_lru;
  std::unordered_map<std::string, std::list<std::string>::iterator> prefix_index;
};

// The actor. Opens its store itself; when that fails the actor quits at once with an io_error
// (spawn_memory_tier reports the failure to the caller instead).
caf::behavior memory_tier(caf::stateful_actor<memory_tier_state>* self,
                          memory_tier_options options);

// Opens the store here (so a bad nvme_dir is this call's error) and spawns the actor.
absl::StatusOr<caf::actor> spawn_memory_tier(caf::actor_system& system,
                                             const memory_tier_options& options);

}  // namespace alisa::actors
