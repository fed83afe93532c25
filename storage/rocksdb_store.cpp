// The only file that includes RocksDB (design/architecture.md): everything else sees block_store.
#include "storage/rocksdb_store.hpp"
#include "storage/read_pool.hpp"

#include <fcntl.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <system_error>
#include <utility>
#include <vector>

namespace alisa::storage {
namespace {

namespace fs = std::filesystem;

std::string directory_error_prefix(const std::string& directory) {
  return "rocksdb store directory " + directory + ": ";
}

// RocksDB's error kinds, mapped to the storage layer's status codes.
absl::Status to_absl(const rocksdb::Status& s, const std::string& message) {
  if (s.IsNotFound()) return absl::NotFoundError(message);
  if (s.IsCorruption()) return absl::DataLossError(message);
  return absl::UnavailableError(message);
}

absl::Status create_directory(const std::string& directory) {
  std::error_code ec;
  if (fs::exists(directory, ec) && !fs::is_directory(directory, ec)) {
    return absl::FailedPreconditionError(directory_error_prefix(directory) + "is not a directory");
  }
  fs::create_directories(directory, ec);
  if (ec) {
    return absl::FailedPreconditionError(directory_error_prefix(directory) +
                                         "cannot create: " + ec.message());
  }
  return absl::OkStatus();
}

// The file that says alisa made this directory's contents: only then may open() destroy them.
constexpr const char* kMarker = ".alisa-nvme-tier";

// A directory that exists, holds anything and lacks the marker belongs to someone else: refused
// (a user's --nvme-dir pointed at their files must not lose them). Otherwise the directory is
// created if needed and marked. `created` tells whether this call made the directory.
absl::Status claim_directory(const std::string& directory, bool& created) {
  std::error_code ec;
  created = !fs::exists(directory, ec);
  if (!created && fs::is_directory(directory, ec) && !fs::exists(fs::path(directory) / kMarker, ec) &&
      !fs::is_empty(directory, ec)) {
    return absl::FailedPreconditionError(
        directory_error_prefix(directory) + "is not empty and was not made by alisa (no " +
        kMarker + " file); give an empty or new directory: alisa deletes what it keeps there");
  }
  if (absl::Status s = create_directory(directory); !s.ok()) return s;
  // KV rows are user data: the directory is the owner's only (RocksDB creates its files 0644, and
  // its Env's owner-only switch does not reach them), so no other user can open what is inside.
  fs::permissions(directory, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) {
    return absl::FailedPreconditionError(directory_error_prefix(directory) +
                                         "cannot make it owner-only: " + ec.message());
  }
  const std::string marker = (fs::path(directory) / kMarker).string();
  const int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(directory_error_prefix(directory) +
                                         "not writable: " + std::strerror(errno));
  }
  static constexpr char kText[] = "alisa KV store (NVMe tier or prefix cache): alisa deletes what is here\n";
  const bool wrote = ::write(fd, kText, sizeof kText - 1) == static_cast<ssize_t>(sizeof kText - 1);
  ::close(fd);
  if (!wrote) {
    return absl::FailedPreconditionError(directory_error_prefix(directory) +
                                         "not writable: " + std::strerror(errno));
  }
  return absl::OkStatus();
}

// Creating the directory can succeed where writing into it fails (read-only mount, full disk,
// permissions): find out at open, with the OS's reason, rather than at the first flush.
absl::Status probe_writable(const std::string& directory) {
  const std::string probe = (fs::path(directory) / ".alisa-write-probe").string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(directory_error_prefix(directory) +
                                         "not writable: " + std::strerror(errno));
  }
  const char byte = 0;
  const bool wrote = ::write(fd, &byte, 1) == 1;
  const int write_errno = errno;
  ::close(fd);
  ::unlink(probe.c_str());
  if (!wrote) {
    return absl::FailedPreconditionError(directory_error_prefix(directory) +
                                         "not writable: " + std::strerror(write_errno));
  }
  return absl::OkStatus();
}

rocksdb::Options make_db_options(const rocksdb_store_options& o) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  // KV rows are float or int8 noise: compression costs CPU and saves nothing.
  options.compression = rocksdb::kNoCompression;
  options.bottommost_compression = rocksdb::kNoCompression;
  // A quarter of slack over put()'s own flush threshold, so the explicit (synchronous) flush
  // normally comes first and a background flush rarely races it.
  options.write_buffer_size = o.write_buffer_bytes + o.write_buffer_bytes / 4;
  options.max_open_files = 256;
  options.info_log_level = rocksdb::WARN_LEVEL;
  options.keep_log_file_num = 1;
  // Without a WAL, closing would flush the memtable to files the next open destroys (a
  // persistent store flushes itself before closing).
  options.avoid_flush_during_shutdown = true;
  // No block cache: host RAM belongs to the host tier's budget, not to a hidden cache here.
  rocksdb::BlockBasedTableOptions table;
  table.no_block_cache = true;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return options;
}

absl::Status validate(const rocksdb_store_options& o) {
  if (o.directory.empty()) return absl::InvalidArgumentError("rocksdb store: no directory given");
  if (o.budget_bytes == 0) {
    return absl::InvalidArgumentError(directory_error_prefix(o.directory) + "budget must be positive");
  }
  if (o.write_buffer_bytes == 0) {
    return absl::InvalidArgumentError(directory_error_prefix(o.directory) + "write buffer must be positive");
  }
  return absl::OkStatus();
}

// Helper threads of get_rows_batch besides the caller: reads that miss the page cache wait on the
// device, so a few in flight keep it busy; ones that hit it are copies and checksums, which the
// caller's idle cores share.
constexpr int kReadThreads = 3;

class rocksdb_store final : public block_store {
 public:
  rocksdb_store(const rocksdb_store_options& options, std::unique_ptr<rocksdb::DB> db)
      : options_(options), db_(std::move(db)) {
    write_options_.disableWAL = true;  // a cache: a crash loses it by design
    // Every value is a block_codec frame whose CRC-32 the reader verifies end to end
    // (verifies_on_read()); a second, per-4-KiB-block check inside RocksDB was a fifth of a
    // long-context decode step. Its index and filter blocks stay verified (paranoid_checks).
    read_options_.verify_checksums = false;
    read_options_.fill_cache = false;
  }

  // Closes without flushing and removes what the store kept: the RocksDB files, the marker, and
  // the directory when open() made it.
  ~rocksdb_store() override {
    if (options_.persistent) {
      flush().IgnoreError();  // what it cannot write is lost, as in a crash
      db_->Close().PermitUncheckedError();
      return;
    }
    db_->Close().PermitUncheckedError();
    db_.reset();
    rocksdb::DestroyDB(options_.directory, make_db_options(options_)).PermitUncheckedError();
    std::error_code ec;
    fs::remove(fs::path(options_.directory) / kMarker, ec);
    if (created_directory_ && fs::is_empty(options_.directory, ec)) fs::remove(options_.directory, ec);
  }
  void set_created_directory(bool created) { created_directory_ = created; }

  std::string_view name() const override { return "rocksdb"; }
  uint64_t budget_bytes() const override { return options_.budget_bytes; }
  uint64_t bytes_used() const override { return bytes_used_; }
  size_t num_values() const override { return sizes_.size(); }

  put_result put(const block_key& key, std::string_view value) override {
    std::string encoded = encode_key(key);
    const uint64_t old_bytes = size_of(encoded);
    const uint64_t used_without = bytes_used_ - old_bytes;
    if (value.size() > options_.budget_bytes || used_without > options_.budget_bytes - value.size()) {
      return {put_outcome::full, {}};
    }
    const rocksdb::Status s = db_->Put(write_options_, encoded, rocksdb::Slice(value.data(), value.size()));
    if (!s.ok()) return fail_put(encoded, error("put " + to_string(key), s));
    sizes_[encoded] = value.size();
    bytes_used_ = used_without + value.size();
    erased_since_compaction_ += old_bytes;
    bytes_since_flush_ += value.size();
    if (bytes_since_flush_ >= options_.write_buffer_bytes) {
      if (absl::Status f = flush(); !f.ok()) return fail_put(encoded, std::move(f));
    }
    return {};
  }

  absl::StatusOr<std::string_view> get(const block_key& key, std::string& buffer) override {
    const std::string encoded = encode_key(key);
    // The size map is authoritative: a key whose put failed may linger in the database.
    const auto it = sizes_.find(encoded);
    if (it == sizes_.end()) return absl::NotFoundError(prefix() + "no value for " + to_string(key));
    const rocksdb::Status s = db_->Get(read_options_, encoded, &buffer);
    if (!s.ok()) return error("get " + to_string(key), s);
    if (buffer.size() != it->second) {
      return absl::DataLossError(prefix() + "get " + to_string(key) + ": read " +
                                 std::to_string(buffer.size()) + " bytes, stored " +
                                 std::to_string(it->second));
    }
    return std::string_view(buffer);
  }

  // A layer's reads at once: the size map is read here (this thread owns it); the database
  // reads, size checks, checksum verification and slicing run on the read pool (RocksDB's Get
  // is thread-safe).
  std::vector<absl::StatusOr<std::string>> get_rows_batch(
      std::span<const row_request> requests) override {
    std::vector<absl::StatusOr<std::string>> out;
    std::vector<std::string> keys(requests.size());
    std::vector<uint64_t> sizes(requests.size());
    out.reserve(requests.size());
    for (size_t i = 0; i < requests.size(); ++i) {
      keys[i] = encode_key(requests[i].key);
      const auto it = sizes_.find(keys[i]);
      if (it == sizes_.end()) {
        out.emplace_back(absl::NotFoundError(prefix() + "no value for " + to_string(requests[i].key)));
      } else {
        sizes[i] = it->second;
        out.emplace_back(absl::UnknownError("not read"));
      }
    }
    reads_.run(requests.size(), [&](size_t i) {
      if (absl::IsNotFound(out[i].status())) return;
      std::string whole;
      const rocksdb::Status s = db_->Get(read_options_, keys[i], &whole);
      if (!s.ok()) {
        out[i] = error("get " + to_string(requests[i].key), s);
      } else if (whole.size() != sizes[i]) {
        out[i] = absl::DataLossError(prefix() + "get " + to_string(requests[i].key) + ": read " +
                                     std::to_string(whole.size()) + " bytes, stored " +
                                     std::to_string(sizes[i]));
      } else {
        out[i] = requests[i].offsets.empty() ? absl::StatusOr<std::string>(std::move(whole))
                                             : rows_of(requests[i].key, whole, requests[i].offsets);
      }
    });
    return out;
  }

  absl::Status erase(const block_key& key) override {
    const std::string encoded = encode_key(key);
    const auto it = sizes_.find(encoded);
    if (it == sizes_.end()) return absl::OkStatus();
    const rocksdb::Status s = db_->Delete(write_options_, encoded);
    if (!s.ok()) return error("erase " + to_string(key), s);
    erased_since_compaction_ += it->second;
    forget(encoded);
    return maybe_compact();
  }

  // The values are gone even when the compaction that may follow fails.
  absl::Status erase_sequence(uint64_t sequence) override {
    const auto first = sizes_.lower_bound(sequence_begin_key(sequence));
    const auto last = sizes_.lower_bound(sequence_end_key(sequence));
    if (first == last) return absl::OkStatus();  // nothing stored: no tombstone to write
    const rocksdb::Status s = db_->DeleteRange(write_options_, db_->DefaultColumnFamily(),
                                               sequence_begin_key(sequence), sequence_end_key(sequence));
    if (!s.ok()) return error("erase sequence " + std::to_string(sequence), s);
    for (auto it = first; it != last; ++it) {
      bytes_used_ -= it->second;
      erased_since_compaction_ += it->second;
    }
    sizes_.erase(first, last);
    return maybe_compact();
  }

  absl::Status flush() override {
    rocksdb::FlushOptions flush_options;
    flush_options.wait = true;
    const rocksdb::Status s = db_->Flush(flush_options);
    if (!s.ok()) return error("flush", s);
    bytes_since_flush_ = 0;
    return absl::OkStatus();
  }

  // Persistent mode: the size map from what the database holds; values under keys that do not
  // decode (not alisa's, or a newer format) are deleted.
  absl::Status load_contents() {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options_));
    std::vector<std::string> strays;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string key = it->key().ToString();
      if (!decode_key(key)) {
        strays.push_back(key);
        continue;
      }
      sizes_[key] = it->value().size();
      bytes_used_ += it->value().size();
    }
    if (!it->status().ok()) return error("scan", it->status());
    for (const auto& key : strays) db_->Delete(write_options_, key).PermitUncheckedError();
    return absl::OkStatus();
  }

  std::vector<std::pair<block_key, uint64_t>> contents() const {
    std::vector<std::pair<block_key, uint64_t>> out;
    out.reserve(sizes_.size());
    for (const auto& [encoded, bytes] : sizes_) out.emplace_back(*decode_key(encoded), bytes);
    return out;
  }

  absl::Status compact() {
    rocksdb::CompactRangeOptions compact_options;
    // Rewrite the bottom level too: that is where the erased values' bytes sit.
    compact_options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
    const rocksdb::Status s = db_->CompactRange(compact_options, nullptr, nullptr);
    if (!s.ok()) return error("compaction", s);
    erased_since_compaction_ = 0;
    return absl::OkStatus();
  }

 private:
  std::string prefix() const { return "rocksdb store " + options_.directory + ": "; }

  absl::Status error(const std::string& what, const rocksdb::Status& s) const {
    return to_absl(s, prefix() + what + ": " + s.ToString());
  }

  uint64_t size_of(const std::string& encoded) const {
    const auto it = sizes_.find(encoded);
    return it == sizes_.end() ? 0 : it->second;
  }

  void forget(const std::string& encoded) {
    const auto it = sizes_.find(encoded);
    if (it == sizes_.end()) return;
    bytes_used_ -= it->second;
    sizes_.erase(it);
  }

  // A failed put leaves the key absent: uncounted, and deleted from the database if it can be.
  put_result fail_put(const std::string& encoded, absl::Status status) {
    forget(encoded);
    db_->Delete(write_options_, encoded).PermitUncheckedError();
    return {put_outcome::failed, std::move(status)};
  }

  absl::Status maybe_compact() {
    const uint64_t threshold = options_.compact_after_erased_bytes;
    if (threshold == 0 || erased_since_compaction_ < threshold) return absl::OkStatus();
    return compact();
  }

  rocksdb_store_options options_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteOptions write_options_;
  rocksdb::ReadOptions read_options_;
  bool created_directory_ = false;
  read_pool reads_{kReadThreads};
  std::map<std::string, uint64_t> sizes_;  // encoded key -> value bytes, for every stored value
  uint64_t bytes_used_ = 0;
  uint64_t bytes_since_flush_ = 0;
  uint64_t erased_since_compaction_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<block_store>> open_rocksdb_store(const rocksdb_store_options& options) {
  if (absl::Status s = validate(options); !s.ok()) return s;
  bool created = false;
  if (absl::Status s = claim_directory(options.directory, created); !s.ok()) return s;
  if (absl::Status s = probe_writable(options.directory); !s.ok()) return s;
  const rocksdb::Options db_options = make_db_options(options);
  // The tier is a cache: whatever an earlier run left is stale. DestroyDB removes only RocksDB's
  // own files (and the directory, when that leaves it empty).
  const bool reuse = options.persistent && options.reuse_contents;
  if (rocksdb::Status s = reuse ? rocksdb::Status::OK()
                                                : rocksdb::DestroyDB(options.directory, db_options);
      !s.ok()) {
    return absl::FailedPreconditionError(directory_error_prefix(options.directory) +
                                         "cannot discard previous contents: " + s.ToString());
  }
  if (absl::Status s = create_directory(options.directory); !s.ok()) return s;
  rocksdb::DB* raw = nullptr;
  if (rocksdb::Status s = rocksdb::DB::Open(db_options, options.directory, &raw); !s.ok()) {
    return absl::FailedPreconditionError(directory_error_prefix(options.directory) +
                                         "cannot open: " + s.ToString());
  }
  auto store = std::make_unique<rocksdb_store>(options, std::unique_ptr<rocksdb::DB>(raw));
  store->set_created_directory(created);
  if (reuse) {
    if (absl::Status s = store->load_contents(); !s.ok()) return s;
  }
  return store;
}

absl::StatusOr<std::vector<std::pair<block_key, uint64_t>>> rocksdb_store_contents(
    const block_store& store) {
  const auto* rocksdb = dynamic_cast<const rocksdb_store*>(&store);
  if (rocksdb == nullptr) {
    return absl::InvalidArgumentError("rocksdb_store_contents: store '" + std::string(store.name()) +
                                      "' is not a rocksdb store");
  }
  return rocksdb->contents();
}

absl::Status compact_rocksdb_store(block_store& store) {
  auto* rocksdb = dynamic_cast<rocksdb_store*>(&store);
  if (rocksdb == nullptr) {
    return absl::InvalidArgumentError("compact_rocksdb_store: store '" + std::string(store.name()) +
                                      "' is not a rocksdb store");
  }
  return rocksdb->compact();
}

}  // namespace alisa::storage
