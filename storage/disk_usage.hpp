#pragma once
// disk_usage — how many bytes a directory's files occupy, so tests and reports can check that
// erasing from the NVMe tier really returns disk space (measured, not assumed).
#include <cstdint>
#include <string>

namespace alisa::storage {

// The sum of the sizes of the regular files under `directory`, recursively. Files that vanish
// while it walks are skipped (RocksDB deletes files in the background); a missing directory is 0.
uint64_t directory_bytes(const std::string& directory);

}  // namespace alisa::storage
