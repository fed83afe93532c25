// Placement policy names.
#include <gtest/gtest.h>

#include "scheduler/kv_policy.hpp"

namespace alisa::scheduler {
namespace {

TEST(KvPolicy, NamesRoundTrip) {
  for (auto p : {kv_policy::alisa, kv_policy::flexgen, kv_policy::vllm}) {
    EXPECT_EQ(parse_kv_policy(to_string(p)), p) << to_string(p);
  }
  EXPECT_EQ(to_string(kv_policy::flexgen), "flexgen");
  EXPECT_EQ(kv_policy_names(), "alisa|flexgen|vllm");
}

TEST(KvPolicy, ParseRejectsOtherSpellings) {
  EXPECT_EQ(parse_kv_policy(""), std::nullopt);
  EXPECT_EQ(parse_kv_policy("ALISA"), std::nullopt);
  EXPECT_EQ(parse_kv_policy("vllm "), std::nullopt);
  EXPECT_EQ(parse_kv_policy("swa"), std::nullopt);
}

}  // namespace
}  // namespace alisa::scheduler
