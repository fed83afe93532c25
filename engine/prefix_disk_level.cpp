#include "engine/prefix_disk_level.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "storage/rocksdb_store.hpp"

namespace alisa::engine {
namespace {

namespace fs = std::filesystem;

constexpr const char* manifest_name = "prefix-cache.manifest";

std::string manifest_text(const std::string& identity) {
  return absl::StrCat("alisa prefix cache\nformat 1\nidentity ", identity, "\n");
}

std::string read_manifest(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Written next to the store, replaced atomically so a crash never leaves half a manifest.
absl::Status write_manifest(const fs::path& path, const std::string& text) {
  const fs::path staged = path.string() + ".new";
  {
    std::ofstream out(staged, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return absl::FailedPreconditionError(absl::StrCat(staged.string(), ": cannot write"));
  }
  std::error_code ec;
  fs::rename(staged, path, ec);
  if (ec) return absl::FailedPreconditionError(absl::StrCat(path.string(), ": ", ec.message()));
  return absl::OkStatus();
}

std::string error_prefix(const prefix_disk_options& o) {
  return absl::StrCat("--prefix-cache-dir ", o.directory, ": ");
}

}  // namespace

absl::StatusOr<opened_prefix_disk_level> open_prefix_disk_level(const prefix_disk_options& options,
                                                                const std::string& identity) {
  if (options.directory.empty() || options.budget_bytes == 0)
    return absl::InvalidArgumentError("the prefix cache's NVMe level needs a directory and a budget");
  const fs::path manifest = fs::path(options.directory) / manifest_name;
  const std::string wanted = manifest_text(identity);
  opened_prefix_disk_level out;
  bool keep = false;
  if (options.persist) {
    const std::string found = read_manifest(manifest);
    keep = found == wanted;
    if (!found.empty() && !keep)
      out.note = "its blocks were made by another model or format: discarded";
  }
  storage::rocksdb_store_options store_options;
  store_options.directory = options.directory;
  store_options.budget_bytes = options.budget_bytes;
  store_options.persistent = options.persist;
  store_options.reuse_contents = keep;
  auto store = storage::open_rocksdb_store(store_options);
  if (!store.ok())
    return absl::Status(store.status().code(),
                        absl::StrCat(error_prefix(options), store.status().message()));
  auto contents = storage::rocksdb_store_contents(**store);
  if (!contents.ok()) return contents.status();
  out.level = std::make_unique<prefix_store_level>(prefix_tier::nvme, std::move(*store), /*owned=*/true);
  out.level->index_existing(*contents);
  if (keep && !contents->empty())
    out.note = absl::StrCat("kept ", contents->size(), " blocks (",
                            out.level->bytes() >> 20, " MiB) from an earlier run");
  if (options.persist) {
    if (absl::Status s = write_manifest(manifest, wanted); !s.ok())
      return absl::Status(s.code(), absl::StrCat(error_prefix(options), s.message()));
  } else {
    std::error_code ec;
    fs::remove(manifest, ec);  // a persistent run's manifest no longer describes the wiped store
  }
  return out;
}

}  // namespace alisa::engine
