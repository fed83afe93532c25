// rocksdb_store: what the RAM twin cannot show: a fresh cache on every open, disk space that
// really returns after erase + compaction, and I/O faults that are errors rather than crashes.
#include "storage/rocksdb_store.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

#include "storage/disk_usage.hpp"
#include "storage/ram_store.hpp"
#include "tests/storage/temp_dir.hpp"

namespace alisa::storage {
namespace {

constexpr uint64_t mib = 1 << 20;

std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string bytes(n, '\0');
  for (size_t i = 0; i + 8 <= n; i += 8) {
    const uint64_t r = rng();
    std::memcpy(bytes.data() + i, &r, 8);
  }
  return bytes;
}

std::unique_ptr<block_store> open_or_fail(const rocksdb_store_options& options) {
  auto store = open_rocksdb_store(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

// Writes `bytes` of 128 KiB values under `sequence`.
void fill(block_store& store, uint64_t sequence, uint64_t bytes) {
  const std::string value = random_bytes(128 << 10, sequence);
  for (uint32_t i = 0; uint64_t{i} * value.size() < bytes; ++i) {
    ASSERT_EQ(store.put({sequence, static_cast<uint16_t>(i % 4), kv_part::keys, i}, value).outcome,
              put_outcome::stored);
  }
}

std::string message_of(const absl::Status& s) { return std::string(s.message()); }

// A directory left by a run that did not close its store (a crash: the files and the marker
// remain) is taken back and emptied by the next open.
TEST(RocksdbStore, ReopeningAfterACrashGivesAFreshCache) {
  test::temp_dir dir;
  const rocksdb_store_options options{dir.sub("db"), 64 * mib};
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // the crashing run: fills the store and dies without closing it
    auto store = open_rocksdb_store(options);
    if (!store.ok()) ::_exit(1);
    const std::string value = random_bytes(128 << 10, 1);
    for (uint32_t i = 0; i < 32; ++i) (*store)->put({1, 0, kv_part::keys, i}, value);
    ::_exit((*store)->flush().ok() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_GE(directory_bytes(options.directory), 4 * mib);  // the crash left its files...
  auto store = open_or_fail(options);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->num_values(), 0u);
  std::string buffer;
  EXPECT_EQ(store->get({1, 0, kv_part::keys, 0}, buffer).status().code(), absl::StatusCode::kNotFound);
  EXPECT_LT(directory_bytes(options.directory), 1 * mib);  // ...and the next open discards them
}

// Closing removes what the store kept: its files, the marker and the directory it created.
TEST(RocksdbStore, ClosingRemovesItsFilesAndTheDirectoryItMade) {
  test::temp_dir dir;
  const rocksdb_store_options options{dir.sub("db"), 64 * mib};
  {
    auto store = open_or_fail(options);
    ASSERT_NE(store, nullptr);
    fill(*store, 1, 2 * mib);
    ASSERT_TRUE(store->flush().ok());
  }
  EXPECT_FALSE(std::filesystem::exists(options.directory));
  // A directory the user made is kept, empty.
  std::filesystem::create_directories(dir.sub("mine"));
  { auto store = open_or_fail({dir.sub("mine"), mib}); }
  EXPECT_TRUE(std::filesystem::is_directory(dir.sub("mine")));
  EXPECT_TRUE(std::filesystem::is_empty(dir.sub("mine")));
}

// A directory that holds anything alisa did not put there is refused and left untouched.
TEST(RocksdbStore, APersistentStoreKeepsItsValuesForTheNextOpenThatReusesThem) {
  test::temp_dir dir;
  rocksdb_store_options options{dir.sub("db"), mib};
  options.persistent = true;
  const block_key key{3, 1, kv_part::prefix, 9};
  const std::string value = random_bytes(4096, 7);
  {
    auto store = open_or_fail(options);
    ASSERT_TRUE(store);
    ASSERT_EQ(store->put(key, value).outcome, put_outcome::stored);
  }  // closed without an explicit flush: closing a persistent store flushes
  options.reuse_contents = true;
  {
    auto store = open_or_fail(options);
    ASSERT_TRUE(store);
    EXPECT_EQ(store->bytes_used(), value.size());
    std::string buffer;
    auto got = store->get(key, buffer);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, value);
    auto contents = rocksdb_store_contents(*store);
    ASSERT_TRUE(contents.ok());
    ASSERT_EQ(contents->size(), 1u);
    EXPECT_EQ((*contents)[0].first, key);
  }
  options.reuse_contents = false;  // persistent, but this run discards what it finds
  auto store = open_or_fail(options);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->num_values(), 0u);
}

TEST(RocksdbStore, ANonEmptyDirectoryAlisaDidNotMakeIsRefused) {
  test::temp_dir dir;
  { std::ofstream(dir.sub("notes.txt")) << "keep me"; }
  const auto store = open_rocksdb_store({dir.path().string(), mib});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(message_of(store.status()).find("is not empty and was not made by alisa"),
            std::string::npos) << store.status();
  std::ifstream in(dir.sub("notes.txt"));
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "keep me");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()), 1);
}

// KV rows are user data: the store's directory is its owner's only, so no other user can
// reach the files inside (an existing empty directory given to it is made so too).
TEST(RocksdbStore, TheDirectoryIsOwnerOnly) {
  test::temp_dir dir;
  std::filesystem::create_directories(dir.sub("given"));
  std::filesystem::permissions(dir.sub("given"), std::filesystem::perms::all);
  for (const std::string& path : {dir.sub("db"), dir.sub("given")}) {
    auto store = open_or_fail({path, 64 * mib});
    ASSERT_NE(store, nullptr);
    fill(*store, 1, 2 * mib);
    ASSERT_TRUE(store->flush().ok());
    EXPECT_EQ(std::filesystem::status(path).permissions(), std::filesystem::perms::owner_all) << path;
  }
}

TEST(RocksdbStore, EraseAndCompactionReturnDiskSpace) {
  test::temp_dir dir;
  rocksdb_store_options options{dir.sub("db"), 256 * mib, 4 * mib};
  options.compact_after_erased_bytes = 0;  // only the explicit compaction below
  auto store = open_or_fail(options);
  ASSERT_NE(store, nullptr);
  fill(*store, 1, 32 * mib);
  fill(*store, 2, 1 * mib);
  ASSERT_TRUE(store->flush().ok());
  const uint64_t before = directory_bytes(options.directory);
  EXPECT_GE(before, 33 * mib);
  ASSERT_TRUE(store->erase_sequence(1).ok());
  EXPECT_EQ(store->bytes_used(), 1 * mib);
  EXPECT_GE(directory_bytes(options.directory), 32 * mib);  // erased, but still on disk
  ASSERT_TRUE(compact_rocksdb_store(*store).ok());
  const uint64_t after = directory_bytes(options.directory);
  EXPECT_LT(after, 4 * mib) << "before " << before << " bytes";
  std::string buffer;
  const auto kept = store->get({2, 3, kv_part::keys, 7}, buffer);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_TRUE(*kept == random_bytes(128 << 10, 2));
}

TEST(RocksdbStore, CompactsByItselfAfterEnoughErasedBytes) {
  test::temp_dir dir;
  rocksdb_store_options options{dir.sub("db"), 256 * mib, 4 * mib};
  options.compact_after_erased_bytes = 12 * mib;
  auto store = open_or_fail(options);
  ASSERT_NE(store, nullptr);
  fill(*store, 1, 8 * mib);
  fill(*store, 2, 8 * mib);
  ASSERT_TRUE(store->flush().ok());
  ASSERT_TRUE(store->erase_sequence(1).ok());  // 8 MiB erased: below the threshold
  EXPECT_GE(directory_bytes(options.directory), 16 * mib);
  ASSERT_TRUE(store->erase_sequence(2).ok());  // 16 MiB: compacts
  EXPECT_LT(directory_bytes(options.directory), 2 * mib);
  EXPECT_EQ(store->bytes_used(), 0u);
}

TEST(RocksdbStore, RejectsBadOptions) {
  test::temp_dir dir;
  EXPECT_EQ(open_rocksdb_store({dir.sub("db"), 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(open_rocksdb_store({"", mib}).status().code(), absl::StatusCode::kInvalidArgument);
  rocksdb_store_options no_buffer{dir.sub("db"), mib};
  no_buffer.write_buffer_bytes = 0;
  EXPECT_EQ(open_rocksdb_store(no_buffer).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RocksdbStore, DirectoryUnderAFileIsRefusedByName) {
  test::temp_dir dir;
  const std::string file = dir.sub("F");
  { std::ofstream(file) << "x"; }
  const std::string under = file + "/sub";
  const auto store = open_rocksdb_store({under, mib});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  const std::string message = message_of(store.status());
  EXPECT_NE(message.find(under), std::string::npos) << message;
  EXPECT_NE(message.find("Not a directory"), std::string::npos) << message;
}

TEST(RocksdbStore, DirectoryThatIsAFileIsRefusedByName) {
  test::temp_dir dir;
  const std::string file = dir.sub("F");
  { std::ofstream(file) << "x"; }
  const auto store = open_rocksdb_store({file, mib});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(message_of(store.status()), "rocksdb store directory " + file + ": is not a directory");
}

TEST(RocksdbStore, SecondStoreOnTheSameDirectoryIsRefused) {
  test::temp_dir dir;
  auto first = open_or_fail({dir.sub("db"), mib});
  ASSERT_NE(first, nullptr);
  ASSERT_EQ(first->put({1, 0, kv_part::keys, 0}, "live").outcome, put_outcome::stored);
  const auto second = open_rocksdb_store({dir.sub("db"), mib});
  ASSERT_FALSE(second.ok());
  EXPECT_NE(message_of(second.status()).find(dir.sub("db")), std::string::npos) << second.status();
  std::string buffer;
  EXPECT_EQ(first->get({1, 0, kv_part::keys, 0}, buffer).value_or(""), "live");  // not destroyed under it
}

TEST(RocksdbStore, DirectoryRemovedWhileOpenFailsPutsWithoutCrashing) {
  test::temp_dir dir;
  rocksdb_store_options options{dir.sub("db"), 256 * mib, 1 * mib};
  auto store = open_or_fail(options);
  ASSERT_NE(store, nullptr);
  const std::string value = random_bytes(100 << 10, 5);
  for (uint32_t i = 0; i < 4; ++i) {
    ASSERT_EQ(store->put({1, 0, kv_part::keys, i}, value).outcome, put_outcome::stored);
  }
  ASSERT_TRUE(store->flush().ok());
  std::filesystem::remove_all(options.directory);

  put_result failed;
  uint32_t block = 100;
  for (; block < 200 && failed.outcome == put_outcome::stored; ++block) {
    const uint64_t used_before = store->bytes_used();
    failed = store->put({2, 0, kv_part::keys, block}, value);
    if (failed.outcome == put_outcome::failed) {
      EXPECT_EQ(store->bytes_used(), used_before);
    }
  }
  ASSERT_EQ(failed.outcome, put_outcome::failed) << "no put failed after the directory was removed";
  EXPECT_FALSE(failed.error.ok());
  EXPECT_NE(message_of(failed.error).find(options.directory), std::string::npos) << failed.error;
  std::string buffer;
  // The failed key is not counted as stored...
  EXPECT_EQ(store->get({2, 0, kv_part::keys, block - 1}, buffer).status().code(),
            absl::StatusCode::kNotFound);
  // ...and reading what was stored earlier may fail, but must not crash.
  for (uint32_t i = 0; i < 4; ++i) {
    const auto earlier = store->get({1, 0, kv_part::keys, i}, buffer);
    if (earlier.ok()) {
      EXPECT_TRUE(*earlier == value);
    }
  }
  EXPECT_NE(store->put({3, 0, kv_part::keys, 0}, value).outcome, put_outcome::full);  // stored or failed
  // Closing waits out RocksDB's one-second back-off after the failed flush, and no longer.
  const auto close_start = std::chrono::steady_clock::now();
  store.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - close_start, std::chrono::seconds(10));
}

TEST(RocksdbStore, CompactRefusesOtherStores) {
  auto ram = make_ram_store(mib);
  EXPECT_EQ(compact_rocksdb_store(*ram).code(), absl::StatusCode::kInvalidArgument);
}

TEST(DiskUsage, SumsFilesRecursivelyAndMissingIsZero) {
  test::temp_dir dir;
  std::filesystem::create_directories(dir.path() / "a" / "b");
  { std::ofstream(dir.sub("x")) << std::string(1000, 'x'); }
  { std::ofstream((dir.path() / "a" / "b" / "y").string()) << std::string(234, 'y'); }
  EXPECT_EQ(directory_bytes(dir.path().string()), 1234u);
  EXPECT_EQ(directory_bytes(dir.sub("missing")), 0u);
}

}  // namespace
}  // namespace alisa::storage
