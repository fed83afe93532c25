// block_codec: the value layout round-trips, and corruption of any kind is a DataLoss error.
#include "storage/block_codec.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace alisa::storage {
namespace {

std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string bytes(n, '\0');
  for (auto& c : bytes) c = static_cast<char>(rng());
  return bytes;
}

struct sample_block {
  block_header header;
  std::string rows;
  std::string stats;
  std::string value;
};

// An int8 block: 5 tokens of 12 channels, a minimum and scale (float32) per channel.
sample_block int8_sample() {
  sample_block b;
  b.header = {kv_part::values, kv_dtype_code(kv_dtype::i8), 5, 12, 12 * 8};
  b.rows = random_bytes(5 * 12, 1);
  b.stats = random_bytes(12 * 8, 2);
  b.value = encode_block(b.header, b.rows, b.stats);
  return b;
}

TEST(BlockCodec, RoundTripsHeaderRowsAndStats) {
  const sample_block b = int8_sample();
  EXPECT_EQ(b.value.size(), block_header_bytes() + b.rows.size() + b.stats.size());
  EXPECT_EQ(b.value.substr(0, 4), "AKVB");
  const auto view = decode_block(b.value);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->header, b.header);
  EXPECT_EQ(view->rows, b.rows);
  EXPECT_EQ(view->stats, b.stats);
  EXPECT_EQ(view->rows.data(), b.value.data() + block_header_bytes());  // a view, not a copy
  for (int i = 0; i < 5; ++i) EXPECT_EQ(view->row(i), b.rows.substr(static_cast<size_t>(i) * 12, 12)) << i;
}

TEST(BlockCodec, RoundTripsEmptyStatsAndEmptyBlocks) {
  const block_header fp16{kv_part::hidden, kv_dtype_code(kv_dtype::f16), 64, 256, 0};
  const std::string rows = random_bytes(64 * 256, 3);
  const std::string value = encode_block(fp16, rows, "");
  const auto view = decode_block(value);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->header, fp16);
  EXPECT_EQ(view->rows, rows);
  EXPECT_TRUE(view->stats.empty());
  EXPECT_EQ(view->row(63), rows.substr(63 * 256));
  const std::string empty = encode_block({}, "", "");
  const auto empty_view = decode_block(empty);
  ASSERT_TRUE(empty_view.ok()) << empty_view.status();
  EXPECT_TRUE(empty_view->rows.empty());
  EXPECT_TRUE(empty_view->stats.empty());
}

TEST(BlockCodec, HeaderIsLittleEndianAtFixedOffsets) {
  const std::string value = encode_block({kv_part::hidden, 3, 0x01020304, 0, 0}, "", "");
  EXPECT_EQ(value.size(), block_header_bytes());
  EXPECT_EQ(value[4], 1);  // version
  EXPECT_EQ(value[5], 2);  // part
  EXPECT_EQ(value[6], 3);  // dtype code
  EXPECT_EQ(value[7], 0);  // reserved
  EXPECT_EQ(value.substr(8, 4), std::string("\x04\x03\x02\x01", 4));
}

TEST(BlockCodec, DtypeCodesAreStable) {
  EXPECT_EQ(kv_dtype_code(kv_dtype::f32), 0);
  EXPECT_EQ(kv_dtype_code(kv_dtype::f16), 1);
  EXPECT_EQ(kv_dtype_code(kv_dtype::bf16), 2);
  EXPECT_EQ(kv_dtype_code(kv_dtype::i8), 3);
  for (auto t : {kv_dtype::f32, kv_dtype::f16, kv_dtype::bf16, kv_dtype::i8}) {
    EXPECT_EQ(kv_dtype_from_code(kv_dtype_code(t)), t);
  }
  EXPECT_EQ(kv_dtype_from_code(4), std::nullopt);
  EXPECT_EQ(kv_dtype_from_code(0xFF), std::nullopt);
}

TEST(BlockCodec, EverySingleByteChangeIsDataLoss) {
  const sample_block b = int8_sample();
  int checked = 0;
  for (size_t pos = 0; pos < b.value.size(); ++pos) {
    for (int mask : {0x01, 0x10, 0x80, 0xFF}) {
      std::string bad = b.value;
      bad[pos] = static_cast<char>(bad[pos] ^ mask);
      const auto view = decode_block(bad);
      ASSERT_FALSE(view.ok()) << "byte " << pos << " ^ " << mask << " went unnoticed";
      EXPECT_EQ(view.status().code(), absl::StatusCode::kDataLoss) << view.status();
      ++checked;
    }
  }
  EXPECT_EQ(checked, static_cast<int>(b.value.size()) * 4);
}

TEST(BlockCodec, MessagesNameTheProblem) {
  const sample_block b = int8_sample();
  std::string flipped = b.value;
  flipped[block_header_bytes() + 3] ^= 0x40;
  const std::string message(decode_block(flipped).status().message());
  EXPECT_NE(message.find("checksum mismatch (stored 0x"), std::string::npos) << message;
  EXPECT_NE(message.find(", computed 0x"), std::string::npos) << message;

  std::string magic = b.value;
  magic[0] = 'X';
  EXPECT_NE(std::string(decode_block(magic).status().message()).find("bad magic"), std::string::npos);

  const std::string truncated(decode_block(b.value.substr(0, b.value.size() - 1)).status().message());
  EXPECT_NE(truncated.find("truncated: header says " + std::to_string(b.value.size()) + " bytes, value has " +
                           std::to_string(b.value.size() - 1)),
            std::string::npos)
      << truncated;
}

TEST(BlockCodec, EveryPrefixAndAnyTrailingByteIsDataLoss) {
  const sample_block b = int8_sample();
  for (size_t n = 0; n < b.value.size(); ++n) {
    EXPECT_EQ(decode_block(b.value.substr(0, n)).status().code(), absl::StatusCode::kDataLoss) << n;
  }
  EXPECT_EQ(decode_block(b.value + '\0').status().code(), absl::StatusCode::kDataLoss);
}

TEST(BlockCodec, SkippingTheChecksumStillChecksFraming) {
  const sample_block b = int8_sample();
  std::string flipped = b.value;
  flipped[block_header_bytes() + 3] ^= 0x40;
  const auto unchecked = decode_block(flipped, /*verify_checksum=*/false);
  ASSERT_TRUE(unchecked.ok()) << unchecked.status();
  EXPECT_EQ(unchecked->header, b.header);
  EXPECT_EQ(decode_block(flipped, /*verify_checksum=*/true).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(decode_block(b.value.substr(0, b.value.size() - 1), false).status().code(),
            absl::StatusCode::kDataLoss);
  std::string magic = b.value;
  magic[1] = 'x';
  EXPECT_EQ(decode_block(magic, false).status().code(), absl::StatusCode::kDataLoss);
}

TEST(BlockCodec, ChecksumValidButUnknownPartIsRejected) {
  // An encoder bug (or a newer format) rather than corruption: the checksum matches.
  const std::string value = encode_block({static_cast<kv_part>(7), 0, 0, 0, 0}, "", "");
  const auto view = decode_block(value);
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(view.status().message()).find("unknown part 7"), std::string::npos) << view.status();
}

TEST(BlockCodec, HugeLengthsInTheHeaderDoNotOverflow) {
  std::string value = encode_block({}, "", "");
  for (size_t i = 8; i < 20; ++i) value[i] = '\xFF';  // num_tokens, row_bytes, stats_bytes = 2^32 - 1
  const auto view = decode_block(value);
  ASSERT_FALSE(view.ok());
  EXPECT_NE(std::string(view.status().message()).find("truncated"), std::string::npos) << view.status();
}

TEST(BlockCodec, RandomGarbageNeverDecodesOrCrashes) {
  std::mt19937_64 rng(7);
  const std::string valid = int8_sample().value;
  for (int i = 0; i < 20000; ++i) {
    std::string garbage = random_bytes(rng() % 300, rng());
    // Half the time keep a plausible prefix (magic, version, lengths) so the later checks run.
    if (i % 2 == 0 && garbage.size() >= 20) garbage.replace(0, 20, valid, 0, 20);
    const auto view = decode_block(garbage);
    EXPECT_FALSE(view.ok()) << i;
    EXPECT_EQ(view.status().code(), absl::StatusCode::kDataLoss) << i;
  }
}

}  // namespace
}  // namespace alisa::storage
