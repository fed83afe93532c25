// Streaming with stop strings holds back exactly the text that could still become a stop string.
#include "gpu/text_stream.hpp"

#include <gtest/gtest.h>

namespace alisa::gpu {
namespace {

TEST(stop_holdback, holds_back_the_longest_suffix_that_starts_a_stop_string) {
  EXPECT_EQ(stop_holdback("hello wor", {"world"}), 3u);
  EXPECT_EQ(stop_holdback("hello", {"world"}), 0u);
  EXPECT_EQ(stop_holdback("ab", {"abc", "bcd"}), 2u);
  EXPECT_EQ(stop_holdback("xb", {"abc", "bcd"}), 1u);
  EXPECT_EQ(stop_holdback("", {"abc"}), 0u);
  EXPECT_EQ(stop_holdback("anything", {}), 0u);
}

}  // namespace
}  // namespace alisa::gpu
