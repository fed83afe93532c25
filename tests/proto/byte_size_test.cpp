#include "proto/byte_size.hpp"

#include <gtest/gtest.h>

namespace alisa {
namespace {

uint64_t parse_ok(std::string_view text) {
  std::string error;
  const auto v = parse_byte_size(text, error);
  EXPECT_TRUE(v.has_value()) << text << ": " << error;
  return v.value_or(0);
}

std::string parse_error(std::string_view text) {
  std::string error;
  EXPECT_FALSE(parse_byte_size(text, error).has_value()) << text;
  return error;
}

TEST(ByteSize, BinaryAndDecimalUnits) {
  EXPECT_EQ(parse_ok("4096"), 4096u);
  EXPECT_EQ(parse_ok("512MiB"), 512ull << 20);
  EXPECT_EQ(parse_ok("8GiB"), 8ull << 30);
  EXPECT_EQ(parse_ok("8gib"), 8ull << 30);
  EXPECT_EQ(parse_ok("64k"), 64ull << 10);
  EXPECT_EQ(parse_ok("1.5GB"), 1500000000ull);
  EXPECT_EQ(parse_ok(" 2 MiB "), 2ull << 20);
  EXPECT_EQ(parse_ok("0"), 0u);
}

TEST(ByteSize, ErrorsNameTheText) {
  EXPECT_NE(parse_error("12XB").find("unknown unit 'XB'"), std::string::npos);
  EXPECT_NE(parse_error("-5MiB").find("'-5MiB'"), std::string::npos);
  EXPECT_NE(parse_error("").find("empty"), std::string::npos);
  EXPECT_NE(parse_error("MiB").find("not a size"), std::string::npos);
  EXPECT_NE(parse_error("1.2.3GiB").find("not a size"), std::string::npos);
  EXPECT_NE(parse_error("99999999TiB").find("too large"), std::string::npos);
}

TEST(ByteSize, Formats) {
  EXPECT_EQ(format_byte_size(300), "300 B");
  EXPECT_EQ(format_byte_size(512ull << 20), "512.00 MiB");
  EXPECT_EQ(format_byte_size(3ull << 29), "1.50 GiB");
}

}  // namespace
}  // namespace alisa
