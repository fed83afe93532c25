#pragma once
// rocksdb_store — the NVMe tier: a block_store backed by a RocksDB database in one directory.
// The tier is a cache, not persistent state: opening destroys whatever an earlier run left in the
// directory, writes skip the write-ahead log, and a crash loses the tier by design (the blocks are
// recomputed). The directory is alisa's alone: open() refuses one that holds anything without
// the `.alisa-nvme-tier` marker it writes (so a mistaken --nvme-dir never deletes a user's
// files), the directory is made owner-only (0700: RocksDB's files inside are unreachable by other
// users), and closing removes the files (and the directory, if open() created it). Options and the reasons for them: docs/formats.md, "KV blocks in the host and
// NVMe tiers".
//
// Errors surface synchronously: put() flushes the memtable itself every write_buffer_bytes of
// values and reports a failed flush as put_outcome::failed, so a full or vanished disk shows up
// as the put that hit it, not later in a background thread.
//
// The budget counts value bytes only; an in-memory map of key -> value size keeps bytes_used()
// exact across replace, erase and erase_sequence without reading the database. Erased data stays
// on disk until compaction; once compact_after_erased_bytes of values have been erased or
// replaced since the last compaction, the store compacts the whole key space.
//
// Persistent mode (persistent, for the prefix cache's --kv-cache-persist): closing flushes the
// memtable and keeps the files and the marker; with reuse_contents, open() keeps what an earlier
// run left, rebuilding the size map by one scan (values under keys that do not decode are
// deleted), else it discards it as usual. Writes still skip the WAL: a
// crash loses what was put since the last flush, never what was flushed before it. What the
// contents mean (and whether they may be trusted) is the caller's business: values are checked
// when they are read.
//
// Ownership and thread affinity: block_store.hpp. The destructor closes the database without
// flushing and removes its files; a crash leaves them for the next open to remove. After
// a failed flush, closing takes about a second: RocksDB's background thread backs off that long.
// This is the only storage header that names RocksDB, and it does not include it.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/block_store.hpp"

namespace alisa::storage {

struct rocksdb_store_options {
  std::string directory;                // created if missing; must be empty or alisa's (marker)
  uint64_t budget_bytes = 0;            // must be > 0
  size_t write_buffer_bytes = 8 << 20;  // put() flushes after this many value bytes; > 0
  uint64_t compact_after_erased_bytes = 64 << 20;  // 0: only compact_rocksdb_store() compacts
  bool persistent = false;      // persistent mode (above); default: a cache wiped at open and close
  bool reuse_contents = false;  // with persistent: open keeps an earlier run's values
};

// The store, or an error naming the directory and the reason: InvalidArgument for bad options,
// FailedPrecondition when the directory cannot be created or written ("rocksdb store directory
// /x: not writable: Permission denied", "...: is not a directory"), holds files alisa did not put
// there ("...: is not empty and was not made by alisa"), or RocksDB refuses to open it
// (for example another process holds it).
absl::StatusOr<std::unique_ptr<block_store>> open_rocksdb_store(const rocksdb_store_options& options);

// Every stored key with its value's size, in key order (from the size map: no disk reads).
// InvalidArgument when `store` was not made by open_rocksdb_store.
absl::StatusOr<std::vector<std::pair<block_key, uint64_t>>> rocksdb_store_contents(
    const block_store& store);

// Compacts the whole key space now, so erased and replaced values leave the disk.
// InvalidArgument when `store` was not made by open_rocksdb_store.
absl::Status compact_rocksdb_store(block_store& store);

}  // namespace alisa::storage
