// block_key: the 15-byte big-endian encoding, its order, and the per-sequence key range.
#include "storage/block_key.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

namespace alisa::storage {
namespace {

constexpr uint64_t max_sequence = std::numeric_limits<uint64_t>::max();

block_key smallest_key(uint64_t sequence) { return {sequence, 0, kv_part::keys, 0}; }
block_key largest_key(uint64_t sequence) { return {sequence, 0xFFFF, kv_part::hidden, 0xFFFFFFFF}; }

block_key random_key(std::mt19937_64& rng) {
  // Small ranges so that pairs often share a prefix and the later fields decide the order.
  return {rng() % 4 == 0 ? max_sequence - rng() % 3 : rng() % 5, static_cast<uint16_t>(rng() % 3),
          static_cast<kv_part>(rng() % 4),
          static_cast<uint32_t>(rng() % 4 == 0 ? 0xFFFFFFFF - rng() % 2 : rng() % 300)};
}

auto as_tuple(const block_key& k) {
  return std::tuple(k.sequence, k.layer, static_cast<int>(k.part), k.block);
}

TEST(BlockKey, EncodingIsFifteenBigEndianBytes) {
  const std::string encoded = encode_key({0x0102030405060708, 0x090A, kv_part::values, 0x0B0C0D0E});
  EXPECT_EQ(encoded, std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0A\x01\x0B\x0C\x0D\x0E", 15));
  EXPECT_EQ(encode_key({}).size(), encoded_key_bytes);
  EXPECT_EQ(encode_key({}), std::string(15, '\0'));
}

TEST(BlockKey, RoundTripsIncludingExtremes) {
  std::vector<block_key> keys = {smallest_key(0),
                                 largest_key(max_sequence),
                                 {max_sequence, 0, kv_part::values, 0},
                                 {0, 0xFFFF, kv_part::keys, 0xFFFFFFFF},
                                 {123456789, 31, kv_part::hidden, 7}};
  std::mt19937_64 rng(1);
  for (int i = 0; i < 1000; ++i) {
    // Braced initialisation evaluates the rng() calls left to right.
    keys.push_back(
        {rng(), static_cast<uint16_t>(rng()), static_cast<kv_part>(rng() % 4), static_cast<uint32_t>(rng())});
  }
  for (const auto& key : keys) {
    const auto decoded = decode_key(encode_key(key));
    ASSERT_TRUE(decoded.has_value()) << to_string(key);
    EXPECT_EQ(*decoded, key) << to_string(key);
  }
}

TEST(BlockKey, DecodeRejectsWrongLengthsAndUnknownParts) {
  const std::string good = encode_key({5, 6, kv_part::hidden, 7});
  EXPECT_FALSE(decode_key("").has_value());
  EXPECT_FALSE(decode_key(good.substr(0, 14)).has_value());
  EXPECT_FALSE(decode_key(good + '\0').has_value());
  EXPECT_FALSE(decode_key(sequence_end_key(5)).has_value());  // 16 bytes: a bound, not a key
  for (int part : {4, 5, 0x7F, 0xFF}) {
    std::string bad = good;
    bad[10] = static_cast<char>(part);
    EXPECT_FALSE(decode_key(bad).has_value()) << part;
  }
}

TEST(BlockKey, BytewiseOrderIsSequenceLayerPartBlockOrder) {
  std::mt19937_64 rng(2);
  int checked_later_fields = 0;
  for (int i = 0; i < 20000; ++i) {
    const block_key a = random_key(rng);
    const block_key b = random_key(rng);
    // std::string compares as unsigned bytes, like RocksDB's bytewise comparator.
    EXPECT_EQ(encode_key(a) < encode_key(b), as_tuple(a) < as_tuple(b))
        << to_string(a) << " vs " << to_string(b);
    if (a.sequence == b.sequence && a != b) ++checked_later_fields;
  }
  EXPECT_GT(checked_later_fields, 1000);  // the comparison was not decided by the sequence alone
}

TEST(BlockKey, SequenceRangeHoldsExactlyThatSequence) {
  for (uint64_t s : {uint64_t{0}, uint64_t{1}, uint64_t{255}, uint64_t{256}, uint64_t{0x00FFFFFFFFFFFFFF},
                     max_sequence - 1, max_sequence}) {
    const std::string begin = sequence_begin_key(s);
    const std::string end = sequence_end_key(s);
    EXPECT_EQ(begin, encode_key(smallest_key(s))) << s;
    for (const block_key& k : {smallest_key(s), largest_key(s), block_key{s, 0xFFFF, kv_part::keys, 0},
                               block_key{s, 1, kv_part::hidden, 0xFFFFFFFF}}) {
      const std::string e = encode_key(k);
      EXPECT_TRUE(begin <= e && e < end) << to_string(k);
    }
    if (s > 0) {
      EXPECT_LT(encode_key(largest_key(s - 1)), begin) << s;
    }
    if (s < max_sequence) {
      EXPECT_GE(encode_key(smallest_key(s + 1)), end) << s;
      EXPECT_LE(end, sequence_begin_key(s + 1)) << s;
    }
  }
}

TEST(BlockKey, EndBoundCoversEveryFifteenByteSuffix) {
  // Even a 15-byte string that is no valid key (part 0xFF) stays inside its sequence's range.
  std::string all_ones = sequence_begin_key(max_sequence);
  std::fill(all_ones.begin() + 8, all_ones.end(), '\xFF');
  EXPECT_LT(all_ones, sequence_end_key(max_sequence));
  EXPECT_EQ(sequence_end_key(max_sequence), std::string(16, '\xFF'));
}

TEST(BlockKey, ToStringNamesEveryField) {
  EXPECT_EQ(to_string(block_key{7, 2, kv_part::values, 3}), "sequence 7 layer 2 values block 3");
}

}  // namespace
}  // namespace alisa::storage
