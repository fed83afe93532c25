// The GPU-to-GPU link messages of proto/messages.hpp through CAF 0.17's binary format, as
// tests/proto/caf_roundtrip_test.cpp does for the rest: as plain values, inside a caf::message
// (which needs the registered names), printed, and peer_chunk's raw-bytes path.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <typeinfo>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/binary_deserializer.hpp"
#include "caf/binary_serializer.hpp"
#include "caf/deep_to_string.hpp"
#include "caf/make_message.hpp"
#include "caf/message.hpp"
#include "caf/uniform_type_info_map.hpp"
#include "proto/caf_messages.hpp"

namespace alisa {

bool operator==(const peer_link_offer& a, const peer_link_offer& b) {
  return a.link_id == b.link_id && a.transport == b.transport && a.unique_id == b.unique_id &&
         a.size == b.size && a.rank == b.rank && a.reason == b.reason;
}
bool operator==(const peer_link_answer& a, const peer_link_answer& b) {
  return a.link_id == b.link_id && a.transport == b.transport && a.reason == b.reason;
}
bool operator==(const peer_chunk& a, const peer_chunk& b) {
  return a.link_id == b.link_id && a.transfer == b.transfer && a.offset == b.offset &&
         a.bytes == b.bytes;
}
bool operator==(const peer_transfer& a, const peer_transfer& b) {
  return a.link_id == b.link_id && a.send == b.send && a.bytes == b.bytes &&
         a.rounds == b.rounds && a.seed == b.seed;
}
bool operator==(const peer_transfer_report& a, const peer_transfer_report& b) {
  return a.link_id == b.link_id && a.transport == b.transport && a.bytes == b.bytes &&
         a.seconds == b.seconds && a.checksums == b.checksums;
}
bool operator==(const peer_link_bench& a, const peer_link_bench& b) {
  return a.bytes == b.bytes && a.rounds == b.rounds && a.transport == b.transport &&
         a.workers == b.workers;
}
bool operator==(const peer_link_bench_result& a, const peer_link_bench_result& b) {
  return a.transport == b.transport && a.reason == b.reason && a.sender == b.sender &&
         a.receiver == b.receiver && a.bytes == b.bytes && a.seconds == b.seconds &&
         a.checksums == b.checksums;
}

#define ALISA_PRINT_WITH_CAF(T) \
  void PrintTo(const T& x, std::ostream* os) { *os << caf::deep_to_string(x); }
ALISA_PRINT_WITH_CAF(peer_link_offer)
ALISA_PRINT_WITH_CAF(peer_link_answer)
ALISA_PRINT_WITH_CAF(peer_chunk)
ALISA_PRINT_WITH_CAF(peer_transfer)
ALISA_PRINT_WITH_CAF(peer_transfer_report)
ALISA_PRINT_WITH_CAF(peer_link_bench)
ALISA_PRINT_WITH_CAF(peer_link_bench_result)
#undef ALISA_PRINT_WITH_CAF

namespace {

constexpr size_t kMiB = size_t{1} << 20;

std::vector<std::byte> random_bytes(size_t n, uint64_t seed) {
  std::vector<std::byte> out(n);
  std::mt19937_64 rng{seed};
  for (size_t i = 0; i < n; i += 8) {
    const uint64_t word = rng();
    std::memcpy(out.data() + i, &word, std::min<size_t>(8, n - i));
  }
  return out;
}

// -- one sample per type: every field away from its default ---------------------------------

template <class T>
struct sample;

template <>
struct sample<peer_link_offer> {
  static constexpr const char* name = "alisa.peer_link_offer";
  static peer_link_offer filled() {
    std::vector<uint8_t> id(128);
    for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(255 - i);
    return {0xfedcba9876543210ULL, "nccl", id, 3, 2, "NCCL 2.28.9 on both workers"};
  }
  static peer_link_offer emptied(peer_link_offer x) {
    x.transport.clear();
    x.unique_id.clear();
    x.reason.clear();
    return x;
  }
};

template <>
struct sample<peer_link_answer> {
  static constexpr const char* name = "alisa.peer_link_answer";
  static peer_link_answer filled() {
    return {7, "caf", "rank 1 cannot use NCCL: libnccl.so.2 not found"};
  }
  static peer_link_answer emptied(peer_link_answer x) {
    x.transport.clear();
    x.reason.clear();
    return x;
  }
};

template <>
struct sample<peer_chunk> {
  static constexpr const char* name = "alisa.peer_chunk";
  static peer_chunk filled() {
    return {std::numeric_limits<uint64_t>::max(), 41, uint64_t{3} << 33,
            random_bytes(kMiB + 5, 11)};
  }
  static peer_chunk emptied(peer_chunk x) {
    x.bytes.clear();
    return x;
  }
};

template <>
struct sample<peer_transfer> {
  static constexpr const char* name = "alisa.peer_transfer";
  static peer_transfer filled() { return {9, true, uint64_t{64} << 20, 5, 0x1234567887654321ULL}; }
  static peer_transfer emptied(peer_transfer x) { return x; }
};

template <>
struct sample<peer_transfer_report> {
  static constexpr const char* name = "alisa.peer_transfer_report";
  static peer_transfer_report filled() {
    return {10, "nccl", uint64_t{1} << 40, {0.125, 1e-6, 3.5}, {1, 0xffffffffffffffffULL, 42}};
  }
  static peer_transfer_report emptied(peer_transfer_report x) {
    x.transport.clear();
    x.seconds.clear();
    x.checksums.clear();
    return x;
  }
};

template <>
struct sample<peer_link_bench> {
  static constexpr const char* name = "alisa.peer_link_bench";
  static peer_link_bench filled() {
    return {uint64_t{3} << 30, 17, "nccl", {"10.0.0.1:7701", "10.0.0.2:7701"}};
  }
  static peer_link_bench emptied(peer_link_bench x) {
    x.transport.clear();
    x.workers.clear();
    return x;
  }
};

template <>
struct sample<peer_link_bench_result> {
  static constexpr const char* name = "alisa.peer_link_bench_result";
  static peer_link_bench_result filled() {
    return {"caf", "rank 0's backend keeps host memory", "127.0.0.1:7701", "127.0.0.1:7702",
            uint64_t{64} << 20, {0.5, 0.25}, {99, 100}};
  }
  static peer_link_bench_result emptied(peer_link_bench_result x) {
    x.transport.clear();
    x.reason.clear();
    x.sender.clear();
    x.receiver.clear();
    x.seconds.clear();
    x.checksums.clear();
    return x;
  }
};

template <class T>
std::vector<char> serialize(const T& x) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  auto err = sink(x);
  EXPECT_FALSE(err) << caf::to_string(err);
  return buf;
}

template <class T>
T deserialize(const std::vector<char>& buf, caf::error* err_out = nullptr) {
  T out{};
  caf::binary_deserializer source{nullptr, buf};
  auto err = source(out);
  if (err_out != nullptr) {
    *err_out = std::move(err);
  } else {
    EXPECT_FALSE(err) << caf::to_string(err);
    EXPECT_EQ(source.remaining(), 0u) << "bytes left over after deserialising";
  }
  return out;
}

using message_types = ::testing::Types<peer_link_offer, peer_link_answer, peer_chunk,
                                       peer_transfer, peer_transfer_report, peer_link_bench,
                                       peer_link_bench_result>;

class type_names {
 public:
  template <class T>
  static std::string GetName(int) {
    return std::string{sample<T>::name}.substr(6);  // without "alisa."
  }
};

struct registered_config : caf::actor_system_config {
  registered_config() {
    set("scheduler.max-threads", 1);
    register_message_types(*this);
  }
};

// Torn down by gtest before static destruction (CAF's own globals may be gone by then).
struct caf_environment : ::testing::Environment {
  std::unique_ptr<registered_config> cfg;
  std::unique_ptr<caf::actor_system> sys;
  void TearDown() override {
    sys.reset();
    cfg.reset();
  }
};
caf_environment* const caf_env = static_cast<caf_environment*>(
    ::testing::AddGlobalTestEnvironment(new caf_environment));

caf::actor_system& registered_system() {
  if (!caf_env->sys) {
    caf_env->cfg = std::make_unique<registered_config>();
    caf_env->sys = std::make_unique<caf::actor_system>(*caf_env->cfg);
  }
  return *caf_env->sys;
}

template <class T>
class PeerLinkRoundTrip : public ::testing::Test {};
TYPED_TEST_SUITE(PeerLinkRoundTrip, message_types, type_names);

TYPED_TEST(PeerLinkRoundTrip, EveryFieldSet) {
  const TypeParam in = sample<TypeParam>::filled();
  EXPECT_FALSE(in == TypeParam{}) << "the sample must differ from a default value";
  EXPECT_EQ(deserialize<TypeParam>(serialize(in)), in);
}

TYPED_TEST(PeerLinkRoundTrip, EmptyVectorsAndStrings) {
  const TypeParam in = sample<TypeParam>::emptied(sample<TypeParam>::filled());
  EXPECT_EQ(deserialize<TypeParam>(serialize(in)), in);
}

TYPED_TEST(PeerLinkRoundTrip, DefaultValue) {
  const TypeParam in{};
  EXPECT_EQ(deserialize<TypeParam>(serialize(in)), in);
}

TYPED_TEST(PeerLinkRoundTrip, RegisteredUnderItsWireName) {
  auto& sys = registered_system();
  EXPECT_EQ(sys.types().portable_name(0, &typeid(TypeParam)), sample<TypeParam>::name);
  auto value = sys.types().make_value(sample<TypeParam>::name);
  ASSERT_NE(value, nullptr) << sample<TypeParam>::name << " has no factory";
  EXPECT_EQ(*value->type().second, typeid(TypeParam));
}

TYPED_TEST(PeerLinkRoundTrip, InsideCafMessage) {
  auto& sys = registered_system();
  const TypeParam in = sample<TypeParam>::filled();
  caf::message msg = caf::make_message(in, int32_t{-5});
  std::vector<char> buf;
  {
    caf::binary_serializer sink{sys, buf};
    auto err = sink(msg);
    ASSERT_FALSE(err) << sys.render(err);
  }
  caf::message out;
  {
    caf::binary_deserializer source{sys, buf};
    auto err = source(out);
    ASSERT_FALSE(err) << sys.render(err);
    EXPECT_EQ(source.remaining(), 0u);
  }
  ASSERT_TRUE((out.match_elements<TypeParam, int32_t>()))
      << "received " << caf::to_string(out).substr(0, 200);
  EXPECT_EQ(out.get_as<TypeParam>(0), in);
  EXPECT_EQ(out.get_as<int32_t>(1), -5);
}

TYPED_TEST(PeerLinkRoundTrip, PrintsWithTypeName) {
  const std::string text = caf::deep_to_string(sample<TypeParam>::filled());
  EXPECT_EQ(text.rfind(sample<TypeParam>::name, 0), 0u) << text;
  EXPECT_LT(text.size(), 1000u) << "printing must not dump payloads";
}

// -- peer_chunk: the bulk path ---------------------------------------------------------------

TEST(PeerChunk, BytesAreOneLengthPrefixPlusRawBytes) {
  peer_chunk x = sample<peer_chunk>::filled();
  std::vector<char> as_chars(x.bytes.size());
  std::memcpy(as_chars.data(), x.bytes.data(), x.bytes.size());
  std::vector<char> expected;
  caf::binary_serializer sink{nullptr, expected};
  ASSERT_FALSE(sink(x.link_id, x.transfer, x.offset, as_chars));
  const std::vector<char> actual = serialize(x);
  ASSERT_EQ(actual.size(), expected.size());
  EXPECT_TRUE(actual == expected);
  EXPECT_LT(actual.size(), x.bytes.size() + 40) << "per-byte overhead in the encoding";
}

TEST(PeerChunk, TruncatedInputIsAnErrorNotAHugeAllocation) {
  const std::vector<char> full = serialize(sample<peer_chunk>::filled());
  for (size_t keep : {size_t{0}, size_t{12}, size_t{30}, full.size() / 2, full.size() - 1}) {
    const std::vector<char> cut(full.begin(), full.begin() + static_cast<ptrdiff_t>(keep));
    caf::error err;
    (void)deserialize<peer_chunk>(cut, &err);
    EXPECT_TRUE(err) << "a chunk cut to " << keep << " bytes deserialised";
  }
}

}  // namespace
}  // namespace alisa
