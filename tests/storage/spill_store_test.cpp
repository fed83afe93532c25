// spill_store: RAM first, RocksDB when RAM is full; a key lives in one part; reads are
// byte-identical wherever the value went. Also block_store::get_rows (the token-granular read)
// on the RAM, RocksDB and spill stores.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "storage/block_codec.hpp"
#include "storage/ram_store.hpp"
#include "storage/rocksdb_store.hpp"
#include "storage/spill_store.hpp"
#include "tests/storage/temp_dir.hpp"

namespace alisa::storage {
namespace {

// An fp32-shaped block value of `num_tokens` rows of `row_bytes` random bytes each.
std::string random_block(uint32_t num_tokens, uint32_t row_bytes, uint64_t seed,
                         uint32_t stats_bytes = 0) {
  std::mt19937_64 rng(seed);
  std::string rows(size_t{num_tokens} * row_bytes, '\0');
  for (auto& c : rows) c = static_cast<char>(rng());
  std::string stats(stats_bytes, '\0');
  for (auto& c : stats) c = static_cast<char>(rng());
  return encode_block({kv_part::keys, 0, num_tokens, row_bytes, stats_bytes}, rows, stats);
}

block_key key_of(uint64_t sequence, uint32_t block) { return {sequence, 0, kv_part::keys, block}; }

std::string read(block_store& store, const block_key& key) {
  std::string buffer;
  auto value = store.get(key, buffer);
  EXPECT_TRUE(value.ok()) << value.status();
  return value.ok() ? std::string(*value) : std::string();
}

class SpillStore : public ::testing::Test {
 protected:
  // RAM for `ram_values` blocks of block_bytes, disk for `disk_values`.
  std::unique_ptr<spill_store> open(int ram_values, int disk_values) {
    dir_ = std::make_unique<test::temp_dir>();
    auto disk = open_rocksdb_store({dir_->sub("nvme"), uint64_t(disk_values) * block_bytes(),
                                    64 << 10, 1 << 20});
    EXPECT_TRUE(disk.ok()) << disk.status();
    return make_spill_store(make_ram_store(uint64_t(ram_values) * block_bytes()),
                            disk.ok() ? std::move(*disk) : nullptr);
  }
  static size_t block_bytes() { return random_block(64, 128, 0).size(); }

  std::unique_ptr<test::temp_dir> dir_;
};

TEST_F(SpillStore, SpillsToDiskWhenRamIsFullAndReadsBackByteIdentical) {
  auto store = open(3, 5);
  std::vector<std::string> values;
  for (uint32_t b = 0; b < 7; ++b) {
    values.push_back(random_block(64, 128, b + 1));
    ASSERT_EQ(store->put(key_of(1, b), values.back()).outcome, put_outcome::stored) << b;
  }
  EXPECT_EQ(store->ram_bytes_used(), 3 * block_bytes());
  EXPECT_EQ(store->disk_bytes_used(), 4 * block_bytes());
  EXPECT_EQ(store->bytes_used(), 7 * block_bytes());
  EXPECT_EQ(store->budget_bytes(), 8 * block_bytes());
  EXPECT_EQ(store->num_values(), 7u);
  EXPECT_FALSE(store->on_disk(key_of(1, 0)));
  EXPECT_TRUE(store->on_disk(key_of(1, 6)));
  ASSERT_TRUE(store->flush().ok());
  for (uint32_t b = 0; b < 7; ++b) EXPECT_EQ(read(*store, key_of(1, b)), values[b]) << b;
}

TEST_F(SpillStore, FullWhenBothPartsAreFullAndNothingChanges) {
  auto store = open(1, 1);
  ASSERT_EQ(store->put(key_of(1, 0), random_block(64, 128, 1)).outcome, put_outcome::stored);
  ASSERT_EQ(store->put(key_of(1, 1), random_block(64, 128, 2)).outcome, put_outcome::stored);
  EXPECT_EQ(store->put(key_of(1, 2), random_block(64, 128, 3)).outcome, put_outcome::full);
  EXPECT_EQ(store->num_values(), 2u);
  std::string buffer;
  EXPECT_EQ(store->get(key_of(1, 2), buffer).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SpillStore, WithoutDiskAFullRamIsFull) {
  auto store = make_spill_store(make_ram_store(block_bytes()), nullptr);
  ASSERT_EQ(store->put(key_of(1, 0), random_block(64, 128, 1)).outcome, put_outcome::stored);
  EXPECT_EQ(store->put(key_of(1, 1), random_block(64, 128, 2)).outcome, put_outcome::full);
  EXPECT_EQ(store->disk_budget_bytes(), 0u);
}

TEST_F(SpillStore, EraseSequenceClearsBothPartsAndOnlyThatSequence) {
  auto store = open(2, 4);
  for (uint32_t b = 0; b < 4; ++b)
    ASSERT_EQ(store->put(key_of(7, b), random_block(64, 128, b)).outcome, put_outcome::stored);
  const std::string other = random_block(64, 128, 99);
  ASSERT_EQ(store->put(key_of(8, 0), other).outcome, put_outcome::stored);
  ASSERT_TRUE(store->erase_sequence(7).ok());
  EXPECT_EQ(store->num_values(), 1u);
  EXPECT_EQ(store->bytes_used(), block_bytes());
  std::string buffer;
  for (uint32_t b = 0; b < 4; ++b)
    EXPECT_EQ(store->get(key_of(7, b), buffer).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(read(*store, key_of(8, 0)), other);
}

TEST_F(SpillStore, AKeyLivesInOnePartAcrossReplaceAndErase) {
  auto store = open(1, 2);
  ASSERT_EQ(store->put(key_of(1, 0), random_block(64, 128, 1)).outcome, put_outcome::stored);
  ASSERT_EQ(store->put(key_of(1, 1), random_block(64, 128, 2)).outcome, put_outcome::stored);
  ASSERT_TRUE(store->on_disk(key_of(1, 1)));
  ASSERT_TRUE(store->erase(key_of(1, 0)).ok());
  // RAM has room again: the replacement goes there and the disk copy goes away.
  const std::string replacement = random_block(64, 128, 3);
  ASSERT_EQ(store->put(key_of(1, 1), replacement).outcome, put_outcome::stored);
  EXPECT_FALSE(store->on_disk(key_of(1, 1)));
  EXPECT_EQ(store->disk_bytes_used(), 0u);
  EXPECT_EQ(store->num_values(), 1u);
  EXPECT_EQ(read(*store, key_of(1, 1)), replacement);
}

// -- get_rows --------------------------------------------------------------------------------

// What get_rows must return: the rows at `offsets` of `value`, re-encoded.
std::string expected_rows(const std::string& value, const std::vector<int32_t>& offsets) {
  auto view = decode_block(value);
  std::string rows;
  for (int32_t off : offsets) rows.append(view->row(off));
  block_header header = view->header;
  header.num_tokens = static_cast<uint32_t>(offsets.size());
  return encode_block(header, rows, view->stats);
}

TEST_F(SpillStore, GetRowsReturnsOnlyTheSelectedRowsFromEitherPart) {
  auto store = open(1, 2);
  const std::string in_ram = random_block(64, 96, 5, /*stats_bytes=*/32);
  const std::string on_disk = random_block(64, 96, 6, 32);
  ASSERT_EQ(store->put(key_of(2, 0), in_ram).outcome, put_outcome::stored);
  ASSERT_EQ(store->put(key_of(2, 1), on_disk).outcome, put_outcome::stored);
  ASSERT_TRUE(store->on_disk(key_of(2, 1)));
  const std::vector<int32_t> offsets = {63, 0, 17, 18, 40};
  std::string buffer;
  auto rows = store->get_rows(key_of(2, 0), offsets, buffer);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(std::string(*rows), expected_rows(in_ram, offsets));
  auto decoded = decode_block(*rows);  // a valid value: fresh checksum
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->header.num_tokens, offsets.size());
  rows = store->get_rows(key_of(2, 1), offsets, buffer);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(std::string(*rows), expected_rows(on_disk, offsets));
  rows = store->get_rows(key_of(2, 1), {}, buffer);  // empty offsets: the whole value
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(std::string(*rows), on_disk);
}

TEST(GetRows, RejectsOffsetsOutsideTheBlockAndMissingKeys) {
  auto store = make_ram_store(1 << 20);
  ASSERT_EQ(store->put(key_of(1, 0), random_block(8, 16, 1)).outcome, put_outcome::stored);
  std::string buffer;
  const std::vector<int32_t> bad = {2, 8};
  EXPECT_EQ(store->get_rows(key_of(1, 0), bad, buffer).status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::vector<int32_t> good = {1};
  EXPECT_EQ(store->get_rows(key_of(1, 1), good, buffer).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(GetRows, VerifiesChecksumsOnDiskButTrustsRam) {
  std::string value = random_block(8, 16, 1);
  value[block_header_bytes() + 3] ^= 0x40;  // a flipped payload bit: the CRC no longer matches
  const std::vector<int32_t> offsets = {0, 1};
  std::string buffer;
  auto ram = make_ram_store(1 << 20);
  EXPECT_FALSE(ram->verifies_on_read());
  ASSERT_EQ(ram->put(key_of(1, 0), value).outcome, put_outcome::stored);
  EXPECT_TRUE(ram->get_rows(key_of(1, 0), offsets, buffer).ok());
  test::temp_dir dir;
  auto disk = open_rocksdb_store({dir.sub("db"), 1 << 20});
  ASSERT_TRUE(disk.ok()) << disk.status();
  EXPECT_TRUE((*disk)->verifies_on_read());
  ASSERT_EQ((*disk)->put(key_of(1, 0), value).outcome, put_outcome::stored);
  EXPECT_EQ((*disk)->get_rows(key_of(1, 0), offsets, buffer).status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace alisa::storage
