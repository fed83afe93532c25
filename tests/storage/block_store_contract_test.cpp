// The block_store contract, run on both stores (the RAM store is the RocksDB store's in-memory
// twin): every tier reads back what it wrote, running out is `full` and changes nothing, the
// budget counts value bytes exactly, erase_sequence removes one sequence and nothing else.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "storage/block_codec.hpp"
#include "storage/block_store.hpp"
#include "storage/ram_store.hpp"
#include "storage/rocksdb_store.hpp"
#include "tests/storage/temp_dir.hpp"

namespace alisa::storage {
namespace {

constexpr uint64_t max_sequence = std::numeric_limits<uint64_t>::max();

std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string bytes(n, '\0');
  for (auto& c : bytes) c = static_cast<char>(rng());
  return bytes;
}

class BlockStoreContract : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<block_store> open(uint64_t budget_bytes) {
    if (GetParam() == "ram") return make_ram_store(budget_bytes);
    dir_.emplace();
    // A small write buffer so these tests also cross put()'s own flushes.
    auto store = open_rocksdb_store({dir_->sub("db"), budget_bytes, 64 << 10, 1 << 20});
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  // The value under `key`, or nullopt when get fails (NotFound expected in `code`).
  static std::optional<std::string> read(block_store& store, const block_key& key,
                                         absl::StatusCode* code = nullptr) {
    std::string buffer;
    const auto value = store.get(key, buffer);
    if (code != nullptr) *code = value.status().code();
    if (!value.ok()) return std::nullopt;
    return std::string(*value);
  }

  std::optional<test::temp_dir> dir_;
};

TEST_P(BlockStoreContract, ReadsBackWhatItWroteByteForByte) {
  auto store = open(64 << 20);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->name(), GetParam());
  std::vector<std::pair<block_key, std::string>> written;
  uint64_t total = 0;
  for (uint32_t i = 0; i < 40; ++i) {
    const block_key key{i % 3 == 0 ? max_sequence : i % 4, static_cast<uint16_t>(i % 5),
                        static_cast<kv_part>(i % 3), i};
    written.emplace_back(key, random_bytes(i == 7 ? 0 : 1000 + 4099 * i, i));  // one empty value
    ASSERT_EQ(store->put(key, written.back().second).outcome, put_outcome::stored) << to_string(key);
    total += written.back().second.size();
  }
  ASSERT_TRUE(store->flush().ok());
  EXPECT_EQ(store->bytes_used(), total);
  EXPECT_EQ(store->num_values(), written.size());
  for (const auto& [key, bytes] : written) {
    const auto back = read(*store, key);
    ASSERT_TRUE(back.has_value()) << to_string(key);
    EXPECT_TRUE(*back == bytes) << to_string(key) << ": " << back->size() << " bytes back, " << bytes.size()
                                << " written";
  }
}

TEST_P(BlockStoreContract, FullIsAResultAndChangesNothing) {
  auto store = open(1000);
  ASSERT_NE(store, nullptr);
  const block_key a{1, 0, kv_part::keys, 0};
  const block_key b{1, 0, kv_part::keys, 1};
  EXPECT_TRUE(store->can_store(1000));
  EXPECT_FALSE(store->can_store(1001));
  EXPECT_FALSE(store->can_store(std::numeric_limits<uint64_t>::max()));
  ASSERT_EQ(store->put(a, std::string(600, 'a')).outcome, put_outcome::stored);
  EXPECT_TRUE(store->can_store(400));
  EXPECT_FALSE(store->can_store(401));
  const put_result full = store->put(b, std::string(401, 'b'));
  EXPECT_EQ(full.outcome, put_outcome::full);
  EXPECT_TRUE(full.error.ok());
  EXPECT_EQ(store->bytes_used(), 600u);
  EXPECT_EQ(store->num_values(), 1u);
  absl::StatusCode code{};
  EXPECT_FALSE(read(*store, b, &code).has_value());
  EXPECT_EQ(code, absl::StatusCode::kNotFound);
  // Replacing may use the replaced value's bytes, but not one more.
  ASSERT_EQ(store->put(a, std::string(1000, 'A')).outcome, put_outcome::stored);
  EXPECT_EQ(store->put(a, std::string(1001, 'X')).outcome, put_outcome::full);
  EXPECT_EQ(read(*store, a), std::string(1000, 'A'));
  EXPECT_EQ(store->bytes_used(), 1000u);
}

TEST_P(BlockStoreContract, ReplacementCountsTheSizeDifference) {
  auto store = open(1 << 20);
  ASSERT_NE(store, nullptr);
  const block_key key{9, 3, kv_part::hidden, 4};
  ASSERT_EQ(store->put({9, 3, kv_part::hidden, 5}, std::string(10, 'z')).outcome, put_outcome::stored);
  ASSERT_EQ(store->put(key, std::string(100, 'x')).outcome, put_outcome::stored);
  EXPECT_EQ(store->bytes_used(), 110u);
  ASSERT_EQ(store->put(key, std::string(40, 'y')).outcome, put_outcome::stored);
  EXPECT_EQ(store->bytes_used(), 50u);
  EXPECT_EQ(store->num_values(), 2u);
  EXPECT_EQ(read(*store, key), std::string(40, 'y'));
  ASSERT_EQ(store->put(key, std::string(300, 'w')).outcome, put_outcome::stored);
  EXPECT_EQ(store->bytes_used(), 310u);
}

TEST_P(BlockStoreContract, EraseSequenceRemovesThatSequenceOnly) {
  auto store = open(1 << 20);
  ASSERT_NE(store, nullptr);
  const std::vector<uint64_t> sequences = {0, 1, 2, max_sequence - 1, max_sequence};
  for (uint64_t s : sequences) {
    for (const block_key& k :
         {block_key{s, 0, kv_part::keys, 0}, block_key{s, 0xFFFF, kv_part::hidden, 0xFFFFFFFF},
          block_key{s, 7, kv_part::values, 3}}) {
      ASSERT_EQ(store->put(k, std::to_string(s) + to_string(k)).outcome, put_outcome::stored);
    }
  }
  const auto bytes_of = [&](uint64_t s) {
    uint64_t bytes = 0;
    for (const block_key& k :
         {block_key{s, 0, kv_part::keys, 0}, block_key{s, 0xFFFF, kv_part::hidden, 0xFFFFFFFF},
          block_key{s, 7, kv_part::values, 3}}) {
      bytes += (std::to_string(s) + to_string(k)).size();
    }
    return bytes;
  };
  for (uint64_t erased : {uint64_t{1}, max_sequence, uint64_t{0}}) {
    const uint64_t before = store->bytes_used();
    ASSERT_TRUE(store->erase_sequence(erased).ok());
    EXPECT_EQ(store->bytes_used(), before - bytes_of(erased)) << erased;
    absl::StatusCode code{};
    EXPECT_FALSE(read(*store, {erased, 7, kv_part::values, 3}, &code).has_value()) << erased;
    EXPECT_EQ(code, absl::StatusCode::kNotFound);
  }
  EXPECT_EQ(store->num_values(), 6u);
  for (uint64_t kept : {uint64_t{2}, max_sequence - 1}) {
    const block_key k{kept, 0xFFFF, kv_part::hidden, 0xFFFFFFFF};
    EXPECT_EQ(read(*store, k), std::to_string(kept) + to_string(k));
  }
  EXPECT_TRUE(store->erase_sequence(12345).ok());  // nothing there: fine
  EXPECT_EQ(store->num_values(), 6u);
  // An erased sequence's keys can be stored again (RocksDB: newer than the range tombstone).
  ASSERT_EQ(store->put({1, 7, kv_part::values, 3}, "back").outcome, put_outcome::stored);
  ASSERT_TRUE(store->flush().ok());
  EXPECT_EQ(read(*store, {1, 7, kv_part::values, 3}), "back");
}

TEST_P(BlockStoreContract, EraseThenGetIsNotFoundAndAbsentEraseIsOk) {
  auto store = open(1 << 20);
  ASSERT_NE(store, nullptr);
  const block_key key{4, 1, kv_part::keys, 2};
  ASSERT_EQ(store->put(key, "value").outcome, put_outcome::stored);
  ASSERT_TRUE(store->erase(key).ok());
  absl::StatusCode code{};
  EXPECT_FALSE(read(*store, key, &code).has_value());
  EXPECT_EQ(code, absl::StatusCode::kNotFound);
  EXPECT_EQ(store->bytes_used(), 0u);
  EXPECT_EQ(store->num_values(), 0u);
  EXPECT_TRUE(store->erase(key).ok());
  EXPECT_TRUE(store->erase({5, 5, kv_part::values, 5}).ok());
  ASSERT_EQ(store->put(key, "again").outcome, put_outcome::stored);  // a key can come back
  EXPECT_EQ(read(*store, key), "again");
}

TEST_P(BlockStoreContract, CorruptValueIsCaughtByTheCodec) {
  auto store = open(1 << 20);
  ASSERT_NE(store, nullptr);
  const std::string rows = random_bytes(64 * 32, 11);
  std::string value = encode_block({kv_part::keys, kv_dtype_code(kv_dtype::f16), 64, 32, 0}, rows, "");
  value[block_header_bytes() + 100] ^= 0x04;  // one bit flipped "on the way to disk"
  const block_key key{3, 0, kv_part::keys, 0};
  ASSERT_EQ(store->put(key, value).outcome, put_outcome::stored);
  ASSERT_TRUE(store->flush().ok());
  std::string buffer;
  const auto back = store->get(key, buffer);
  ASSERT_TRUE(back.ok()) << back.status();  // the store returns the bytes it was given...
  const auto decoded = decode_block(*back);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);  // ...and the codec refuses them
}

// A batch answers each request as get_rows() would, in request order: whole values, row slices,
// NotFound for an absent key, DataLoss for a corrupt value on a store that verifies reads, and
// InvalidArgument for an offset outside the block (the RocksDB store reads the batch on its
// read pool, so this is also its concurrency check).
TEST_P(BlockStoreContract, ABatchOfRowReadsEqualsOneReadAtATime) {
  auto store = open(64 << 20);
  ASSERT_NE(store, nullptr);
  std::vector<block_key> keys;
  for (uint32_t b = 0; b < 24; ++b) {
    keys.push_back({7, static_cast<uint16_t>(b % 3), kv_part::values, b});
    const std::string rows = random_bytes(64 * 48, 100 + b);
    ASSERT_EQ(store->put(keys.back(), encode_block({kv_part::values, kv_dtype_code(kv_dtype::f32),
                                                    64, 48, 0}, rows, "")).outcome,
              put_outcome::stored);
  }
  std::string corrupt = encode_block({kv_part::keys, kv_dtype_code(kv_dtype::f32), 64, 48, 0},
                                     random_bytes(64 * 48, 5), "");
  corrupt[block_header_bytes() + 10] ^= 0x01;
  const block_key corrupt_key{7, 0, kv_part::keys, 99};
  ASSERT_EQ(store->put(corrupt_key, corrupt).outcome, put_outcome::stored);
  ASSERT_TRUE(store->flush().ok());

  const std::vector<int32_t> some{0, 5, 6, 63}, none{}, outside{64};
  std::vector<row_request> batch;
  for (size_t i = 0; i < keys.size(); ++i) batch.push_back({keys[i], i % 2 ? some : none});
  batch.push_back({{8, 0, kv_part::keys, 0}, some});  // absent
  batch.push_back({corrupt_key, some});
  batch.push_back({keys[0], outside});
  const auto answers = store->get_rows_batch(batch);
  ASSERT_EQ(answers.size(), batch.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    std::string buffer;
    const auto one = store->get_rows(batch[i].key, batch[i].offsets, buffer);
    ASSERT_TRUE(one.ok() && answers[i].ok()) << i;
    EXPECT_TRUE(*answers[i] == std::string(*one)) << i;
  }
  EXPECT_EQ(answers[keys.size()].status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(answers[keys.size() + 1].status().code(),
            store->verifies_on_read() ? absl::StatusCode::kDataLoss : absl::StatusCode::kOk);
  EXPECT_EQ(answers[keys.size() + 2].status().code(), absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Stores, BlockStoreContract, ::testing::Values("ram", "rocksdb"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace alisa::storage
