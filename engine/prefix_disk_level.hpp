#pragma once
// prefix_disk_level — opens the prefix cache's NVMe level (--prefix-cache-dir,
// --prefix-cache-disk-budget) as an owned prefix_store_level over a RocksDB store.
//
// Without persistence the directory is a cache of this run: wiped at open and removed at exit,
// as the NVMe KV tier is. With persistence (--kv-cache-persist) its contents outlive the process,
// under a manifest (`prefix-cache.manifest`: format and model identity) written when it is opened:
//   - manifest present and equal: the blocks are kept and indexed (least recently used order is
//     not kept across a restart);
//   - manifest missing, unreadable or of another model/format: the contents are discarded, never
//     served, and a new manifest is written.
// Each block is still verified when read (prefix_block_codec.hpp), so a corrupt or foreign entry
// the manifest did not catch is recomputed, not served.
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/prefix_store_level.hpp"

namespace alisa::engine {

struct prefix_disk_options {
  std::string directory;
  uint64_t budget_bytes = 0;  // > 0
  bool persist = false;
};

struct opened_prefix_disk_level {
  std::unique_ptr<prefix_store_level> level;
  std::string note;  // what happened to an earlier run's contents, for the log; empty = nothing
};

// `identity` is the prefix cache's (what the rows depend on). Errors name the directory.
absl::StatusOr<opened_prefix_disk_level> open_prefix_disk_level(const prefix_disk_options& options,
                                                                const std::string& identity);

}  // namespace alisa::engine
