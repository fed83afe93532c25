#pragma once
// block_store — a bounded key-value store of encoded KV blocks (block_codec.hpp), keyed by
// block_key. Two implementations with the same contract: the RAM store (ram_store.hpp, the host
// tier and the in-memory twin tests use, as LevelDB's memenv) and the RocksDB store
// (rocksdb_store.hpp, the NVMe tier). Values are opaque bytes here; callers encode and decode.
//
// Budget: every store is opened with a byte budget and counts the sizes of the values it holds
// (not keys, not on-disk overhead). A put that would exceed it returns put_outcome::full and
// changes nothing: running out is a result the caller handles (by dropping the block and
// recomputing it later), not an error. I/O faults are errors (absl::Status) naming the store.
//
// Ownership: the caller owns the store (std::unique_ptr). Thread affinity: one thread at a time
// (the memory-tier actor that owns it); stores do no locking.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/block_key.hpp"

namespace alisa::storage {

enum class put_outcome { stored, full, failed };

// One get_rows() of a batch (block_store::get_rows_batch).
struct row_request {
  block_key key;
  std::span<const int32_t> offsets;  // empty = the whole value
};

struct put_result {
  put_outcome outcome = put_outcome::stored;
  absl::Status error;  // set only when outcome == failed
};

class block_store {
 public:
  virtual ~block_store() = default;

  virtual std::string_view name() const = 0;  // "ram" or "rocksdb"
  virtual uint64_t budget_bytes() const = 0;  // the byte budget it was opened with
  virtual uint64_t bytes_used() const = 0;    // sum of the sizes of the values it holds now
  virtual size_t num_values() const = 0;

  // Whether a new value of this size fits: bytes_used() + value_bytes <= budget_bytes().
  bool can_store(uint64_t value_bytes) const {
    const uint64_t used = bytes_used();
    const uint64_t budget = budget_bytes();
    return used <= budget && value_bytes <= budget - used;  // no overflow for huge sizes
  }

  // Stores the value, replacing any value under the same key (the budget counts the size
  // difference). full: it would exceed the budget; nothing changed. failed: an I/O error (`error`
  // says what); the key is then absent, and the store may refuse later writes too.
  virtual put_result put(const block_key& key, std::string_view value) = 0;

  // The value, NotFound when absent, or an I/O error (DataLoss for corruption the store itself
  // detected, Unavailable otherwise). The view stays valid until the next non-const call on this
  // store: the RAM store points into itself, the RocksDB store into `buffer`.
  virtual absl::StatusOr<std::string_view> get(const block_key& key, std::string& buffer) = 0;

  // Removes the value; an absent key is OK.
  virtual absl::Status erase(const block_key& key) = 0;
  // Removes every value of the sequence (one range erase: keys are sequence-major).
  virtual absl::Status erase_sequence(uint64_t sequence) = 0;

  // Token-granular read: a valid encoded value (block_codec.hpp framing, fresh CRC) holding only
  // the rows at `offsets` of the stored value, in that order (num_tokens = offsets.size(); part,
  // dtype, row_bytes and the statistics unchanged: int8 statistics are per block, so they travel
  // whole). Empty `offsets` means the whole stored value, returned as get() would. Errors: those of
  // get(); DataLoss when the stored value does not decode (its checksum is verified when
  // verifies_on_read()); InvalidArgument for an offset outside the block. The view lives in
  // `buffer` (or in the store, for empty offsets) until the next non-const call.
  // The default reads the whole value and slices it; a remote store overrides it so that only the
  // selected rows travel.
  virtual absl::StatusOr<std::string_view> get_rows(const block_key& key,
                                                    std::span<const int32_t> offsets,
                                                    std::string& buffer);

  // Several get_rows() at once, answered in request order, each with its own status; the
  // results own their bytes. A remote store sends them in one round trip (one message each way
  // per memory node), which is how a step's fetches of one layer are pipelined. The default calls
  // get_rows() for each.
  virtual std::vector<absl::StatusOr<std::string>> get_rows_batch(
      std::span<const row_request> requests);

  // Whether get_rows() verifies the stored value's checksum before slicing. Values in this
  // process's RAM are trusted (a token-granular read must not hash the whole block); values that
  // went through a disk are not. The default decides by name(): only "ram" is trusted.
  virtual bool verifies_on_read() const { return name() != "ram"; }

  // Whether operations cross to another actor (possibly another node): they block on a reply and
  // can fail with Unavailable when it is gone.
  virtual bool is_remote() const { return false; }

  // Makes what was put durable in the store's files (RocksDB: memtable -> table files), so the
  // I/O errors of writing them surface now. A no-op for the RAM store.
  virtual absl::Status flush() { return absl::OkStatus(); }

 protected:
  // What get_rows() returns for the stored value `whole` of `key`: whole when offsets is empty,
  // else the rows at offsets re-encoded (checksum verified first when verifies_on_read()).
  // Touches no store state, so a store may call it from reader threads.
  absl::StatusOr<std::string> rows_of(const block_key& key, std::string_view whole,
                                      std::span<const int32_t> offsets) const;
};

}  // namespace alisa::storage
