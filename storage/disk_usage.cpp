#include "storage/disk_usage.hpp"

#include <filesystem>
#include <system_error>

namespace alisa::storage {

uint64_t directory_bytes(const std::string& directory) {
  namespace fs = std::filesystem;
  std::error_code ec;
  uint64_t total = 0;
  // Error-code overloads throughout: RocksDB may delete files while we walk.
  fs::recursive_directory_iterator it(directory, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code file_ec;
    if (!it->is_regular_file(file_ec) || file_ec) continue;
    const auto size = it->file_size(file_ec);
    if (!file_ec) total += size;
  }
  return total;
}

}  // namespace alisa::storage
