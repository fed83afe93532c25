// Every message type of proto/messages.hpp through CAF 0.17's binary format: as a plain value
// (binary_serializer -> binary_deserializer), inside a caf::message (which needs the registered
// names: CAF sends an unregistered type as an empty message), printed (deep_to_string), and the
// kv_payload fast path (one length prefix + raw bytes; 16 MiB well under a second).
#include "proto/caf_messages.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <chrono>
#include <cmath>
#include <climits>
#include <cstdio>
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
#include "caf/error.hpp"
#include "caf/make_message.hpp"
#include "caf/message.hpp"
#include "caf/sec.hpp"
#include "caf/uniform_type_info_map.hpp"

// -- comparison and printing (test-only; proto/ stays plain structs) -------------------------

namespace alisa {

bool operator==(const sampling_params& a, const sampling_params& b) {
  return a.temperature == b.temperature && a.top_p == b.top_p && a.top_k == b.top_k &&
         a.seed == b.seed && a.max_tokens == b.max_tokens && a.stop == b.stop &&
         a.ignore_eos == b.ignore_eos;
}
bool operator==(const submit_job& a, const submit_job& b) {
  return a.id == b.id && a.prompt_ids == b.prompt_ids && a.sampling == b.sampling &&
         a.prompt_text == b.prompt_text;
}
bool operator==(const job_accepted& a, const job_accepted& b) {
  return a.id == b.id && a.queue_position == b.queue_position;
}
bool operator==(const job_rejected& a, const job_rejected& b) {
  return a.id == b.id && a.reason == b.reason;
}
bool operator==(const token_chunk& a, const token_chunk& b) {
  return a.id == b.id && a.token_ids == b.token_ids && a.text == b.text;
}
bool operator==(const job_finished& a, const job_finished& b) {
  return a.id == b.id && a.finish_reason == b.finish_reason &&
         a.num_prompt_tokens == b.num_prompt_tokens &&
         a.num_generated_tokens == b.num_generated_tokens && a.prefill_ms == b.prefill_ms &&
         a.decode_ms == b.decode_ms && a.num_decode_steps == b.num_decode_steps &&
         a.kv_tokens_attended_per_step == b.kv_tokens_attended_per_step &&
         a.kv_bytes_read_per_step == b.kv_bytes_read_per_step &&
         a.attention_ms == b.attention_ms && a.selection_ms == b.selection_ms &&
         a.kv_transfer_ms == b.kv_transfer_ms && a.recompute_ms == b.recompute_ms &&
         a.tokens_recomputed == b.tokens_recomputed &&
         a.memory_node_peak_bytes == b.memory_node_peak_bytes;
}
bool operator==(const job_failed& a, const job_failed& b) {
  return a.id == b.id && a.reason == b.reason;
}
bool operator==(const cancel_job& a, const cancel_job& b) { return a.id == b.id; }
bool operator==(const kv_fetch& a, const kv_fetch& b) {
  return a.sequence == b.sequence && a.layer == b.layer && a.part == b.part &&
         a.block == b.block && a.offsets == b.offsets;
}
bool operator==(const kv_payload& a, const kv_payload& b) {
  return a.sequence == b.sequence && a.layer == b.layer && a.part == b.part &&
         a.block == b.block && a.offsets == b.offsets && a.bytes == b.bytes;
}
bool operator==(const node_hello& a, const node_hello& b) {
  return a.id == b.id && a.role == b.role && a.endpoint == b.endpoint;
}
bool operator==(const tier_usage& a, const tier_usage& b) {
  return a.id == b.id && a.host_bytes_used == b.host_bytes_used &&
         a.host_budget == b.host_budget && a.nvme_bytes_used == b.nvme_bytes_used &&
         a.nvme_budget == b.nvme_budget;
}
bool operator==(const step_plan& a, const step_plan& b) {
  return a.joiners == b.joiners && a.cancelled == b.cancelled;
}
bool operator==(const step_report& a, const step_report& b) {
  return a.chunks == b.chunks && a.finished == b.finished && a.failed == b.failed &&
         a.lost == b.lost;
}
bool operator==(const kv_put_result& a, const kv_put_result& b) {
  return a.outcome == b.outcome && a.error == b.error;
}
bool operator==(const kv_erase& a, const kv_erase& b) {
  return a.sequence == b.sequence && a.whole_sequence == b.whole_sequence &&
         a.layer == b.layer && a.part == b.part && a.block == b.block;
}
bool operator==(const kv_erase_result& a, const kv_erase_result& b) { return a.error == b.error; }
bool operator==(const kv_fetch_batch& a, const kv_fetch_batch& b) { return a.fetches == b.fetches; }
bool operator==(const kv_erase_owner& a, const kv_erase_owner& b) { return a.owner == b.owner; }
bool operator==(const kv_payload_batch& a, const kv_payload_batch& b) {
  return a.payloads == b.payloads && a.status == b.status;
}

// gtest prints failing values through CAF's stringification (kv_payload shows its byte count).
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
ALISA_PRINT_WITH_CAF(submit_job)
ALISA_PRINT_WITH_CAF(job_accepted)
ALISA_PRINT_WITH_CAF(job_rejected)
ALISA_PRINT_WITH_CAF(token_chunk)
ALISA_PRINT_WITH_CAF(job_finished)
ALISA_PRINT_WITH_CAF(job_failed)
ALISA_PRINT_WITH_CAF(cancel_job)
ALISA_PRINT_WITH_CAF(kv_fetch)
ALISA_PRINT_WITH_CAF(kv_payload)
ALISA_PRINT_WITH_CAF(node_hello)
ALISA_PRINT_WITH_CAF(tier_usage)
ALISA_PRINT_WITH_CAF(kv_put_result)
ALISA_PRINT_WITH_CAF(kv_erase)
ALISA_PRINT_WITH_CAF(kv_erase_result)
ALISA_PRINT_WITH_CAF(kv_fetch_batch)
ALISA_PRINT_WITH_CAF(kv_erase_owner)
ALISA_PRINT_WITH_CAF(kv_payload_batch)
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
struct sample<submit_job> {
  static constexpr const char* name = "alisa.submit_job";
  static submit_job filled() {
    submit_job x;
    x.id = request_id{0x1234567890abcdefULL};
    x.prompt_ids = {1, -7, 32000, std::numeric_limits<int32_t>::max(),
                    std::numeric_limits<int32_t>::min()};
    x.sampling.temperature = 0.75f;
    x.sampling.top_p = 0.875f;
    x.sampling.top_k = 40;
    x.sampling.seed = 0xdeadbeefcafef00dULL;
    x.sampling.max_tokens = 257;
    x.sampling.stop = {"\n\n", "</s>", "ünïcödé", std::string("a\0b", 3)};
    x.sampling.ignore_eos = true;
    x.prompt_text = "Once upon a time, ünïcödé";
    return x;
  }
  static submit_job emptied(submit_job x) {
    x.prompt_ids.clear();
    x.prompt_text.clear();
    x.sampling.stop.clear();
    return x;
  }
};

template <>
struct sample<job_accepted> {
  static constexpr const char* name = "alisa.job_accepted";
  static job_accepted filled() { return {request_id{42}, 17}; }
  static job_accepted emptied(job_accepted x) { return x; }
};

template <>
struct sample<job_rejected> {
  static constexpr const char* name = "alisa.job_rejected";
  static job_rejected filled() { return {request_id{43}, "queue full (64 jobs waiting)"}; }
  static job_rejected emptied(job_rejected x) {
    x.reason.clear();
    return x;
  }
};

template <>
struct sample<token_chunk> {
  static constexpr const char* name = "alisa.token_chunk";
  static token_chunk filled() { return {request_id{44}, {29871, 13, 0, -1}, "h\xC3\xA9llo\n"}; }
  static token_chunk emptied(token_chunk x) {
    x.token_ids.clear();
    x.text.clear();
    return x;
  }
};

template <>
struct sample<job_finished> {
  static constexpr const char* name = "alisa.job_finished";
  static job_finished filled() {
    // Distinct values in every field, and a recompute count past 32 bits.
    return {request_id{45}, "stop", 123, 456, 12.5, 3456.0625, 455, 37.25, 98304.5, 7.75,
            1.125, 2.5, 0.0625, int64_t{5} << 33, {786432, uint64_t{3} << 40}};
  }
  static job_finished emptied(job_finished x) {
    x.finish_reason.clear();
    x.memory_node_peak_bytes.clear();
    return x;
  }
};

template <>
struct sample<job_failed> {
  static constexpr const char* name = "alisa.job_failed";
  static job_failed filled() { return {request_id{46}, "memory tier node 3 lost"}; }
  static job_failed emptied(job_failed x) {
    x.reason.clear();
    return x;
  }
};

template <>
struct sample<cancel_job> {
  static constexpr const char* name = "alisa.cancel_job";
  static cancel_job filled() { return {request_id{std::numeric_limits<uint64_t>::max()}}; }
  static cancel_job emptied(cancel_job x) { return x; }
};

template <>
struct sample<kv_fetch> {
  static constexpr const char* name = "alisa.kv_fetch";
  static kv_fetch filled() { return {seq_id{9}, 31, kv_part::values, 1234567, {0, 5, 63}}; }
  static kv_fetch emptied(kv_fetch x) {
    x.offsets.clear();
    return x;
  }
};

template <>
struct sample<kv_payload> {
  static constexpr const char* name = "alisa.kv_payload";
  static kv_payload filled() {
    return {seq_id{10},          65535, kv_part::hidden, std::numeric_limits<uint32_t>::max(),
            {1, 2, 3, 62},       random_bytes(kMiB + 3, 7)};
  }
  static kv_payload emptied(kv_payload x) {
    x.offsets.clear();
    x.bytes.clear();
    return x;
  }
};

template <>
struct sample<node_hello> {
  static constexpr const char* name = "alisa.node_hello";
  static node_hello filled() { return {node_id{3}, "memory", "10.0.0.3:4242"}; }
  static node_hello emptied(node_hello x) {
    x.role.clear();
    x.endpoint.clear();
    return x;
  }
};

template <>
struct sample<tier_usage> {
  static constexpr const char* name = "alisa.tier_usage";
  static tier_usage filled() {
    return {node_id{4}, uint64_t{1} << 40, (uint64_t{1} << 41) + 1, 0xffffffffffULL,
            std::numeric_limits<uint64_t>::max()};
  }
  static tier_usage emptied(tier_usage x) { return x; }
};

template <>
struct sample<step_plan> {
  static constexpr const char* name = "alisa.step_plan";
  static step_plan filled() {
    return {{sample<submit_job>::filled()},
            {request_id{7}, request_id{9}}};
  }
  static step_plan emptied(step_plan x) {
    x.joiners.clear();
    x.cancelled.clear();
    return x;
  }
};

template <>
struct sample<step_report> {
  static constexpr const char* name = "alisa.step_report";
  static step_report filled() {
    return {{sample<token_chunk>::filled()}, {sample<job_finished>::filled()},
            {sample<job_failed>::filled(), sample<job_failed>::filled()},
            {sample<job_failed>::filled()}};
  }
  static step_report emptied(step_report x) {
    x.chunks.clear();
    x.finished.clear();
    x.failed.clear();
    x.lost.clear();
    return x;
  }
};

template <>
struct sample<kv_put_result> {
  static constexpr const char* name = "alisa.kv_put_result";
  static kv_put_result filled() {
    return {static_cast<uint8_t>(kv_put_outcome::failed), "rocksdb store /nvme: No space left"};
  }
  static kv_put_result emptied(kv_put_result x) {
    x.error.clear();
    return x;
  }
};

template <>
struct sample<kv_erase> {
  static constexpr const char* name = "alisa.kv_erase";
  static kv_erase filled() { return {seq_id{12}, true, 65535, kv_part::values, 1u << 31}; }
  static kv_erase emptied(kv_erase x) { return x; }
};

template <>
struct sample<kv_erase_result> {
  static constexpr const char* name = "alisa.kv_erase_result";
  static kv_erase_result filled() { return {"IO error: rocksdb delete range"}; }
  static kv_erase_result emptied(kv_erase_result x) {
    x.error.clear();
    return x;
  }
};

template <>
struct sample<kv_fetch_batch> {
  static constexpr const char* name = "alisa.kv_fetch_batch";
  static kv_fetch_batch filled() {
    kv_fetch second = sample<kv_fetch>::filled();
    second.block = 3;
    second.offsets = {0, 63};
    return {{sample<kv_fetch>::filled(), second}};
  }
  static kv_fetch_batch emptied(kv_fetch_batch x) {
    x.fetches.clear();
    return x;
  }
};

template <>
struct sample<kv_erase_owner> {
  static constexpr const char* name = "alisa.kv_erase_owner";
  static kv_erase_owner filled() { return {0xfedcba98u}; }
  static kv_erase_owner emptied(kv_erase_owner x) { return x; }
};

template <>
struct sample<kv_payload_batch> {
  static constexpr const char* name = "alisa.kv_payload_batch";
  static kv_payload_batch filled() {
    kv_payload missing = sample<kv_payload>::filled();
    missing.bytes.clear();
    return {{sample<kv_payload>::filled(), missing},
            {0, static_cast<uint8_t>(tier_error::not_found)}};
  }
  static kv_payload_batch emptied(kv_payload_batch x) {
    x.payloads.clear();
    x.status.clear();
    return x;
  }
};

// -- serialisation helpers -------------------------------------------------------------------

// -- the GPU-to-GPU peer-link messages ------------------------------------------------------

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
std::vector<char> serialize(const T& x, caf::execution_unit* ctx = nullptr) {
  std::vector<char> buf;
  caf::binary_serializer sink{ctx, buf};
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

template <class T>
T round_trip(const T& x) {
  return deserialize<T>(serialize(x));
}

// -- typed tests: one row per message type ---------------------------------------------------

using message_types = ::testing::Types<submit_job, job_accepted, job_rejected, token_chunk,
                                       job_finished, job_failed, cancel_job, kv_fetch,
                                       kv_payload, node_hello, tier_usage, step_plan,
                                       step_report, kv_put_result, kv_erase, kv_erase_result,
                                       kv_fetch_batch, kv_payload_batch, kv_erase_owner,
                                       peer_link_offer, peer_link_answer, peer_chunk,
                                       peer_transfer, peer_transfer_report, peer_link_bench,
                                       peer_link_bench_result>;

class type_names {
 public:
  template <class T>
  static std::string GetName(int) {
    return std::string{sample<T>::name}.substr(6);  // without "alisa."
  }
};

// One actor system with the registration, shared by all tests (starting one costs threads).
struct registered_config : caf::actor_system_config {
  registered_config() {
    set("scheduler.max-threads", 1);
    register_message_types(*this);
  }
};

// Owned by a gtest environment so it is torn down before static destruction (CAF's own globals
// may already be gone by then).
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
class CafRoundTrip : public ::testing::Test {};
TYPED_TEST_SUITE(CafRoundTrip, message_types, type_names);

TYPED_TEST(CafRoundTrip, EveryFieldSet) {
  const TypeParam in = sample<TypeParam>::filled();
  EXPECT_FALSE(in == TypeParam{}) << "the sample must differ from a default value";
  EXPECT_EQ(round_trip(in), in);
}

TYPED_TEST(CafRoundTrip, EmptyVectorsAndStrings) {
  const TypeParam in = sample<TypeParam>::emptied(sample<TypeParam>::filled());
  EXPECT_EQ(round_trip(in), in);
}

TYPED_TEST(CafRoundTrip, DefaultValue) {
  const TypeParam in{};
  EXPECT_EQ(round_trip(in), in);
}

TYPED_TEST(CafRoundTrip, RegisteredUnderItsWireName) {
  auto& sys = registered_system();
  EXPECT_EQ(sys.types().portable_name(0, &typeid(TypeParam)), sample<TypeParam>::name);
  auto value = sys.types().make_value(sample<TypeParam>::name);
  ASSERT_NE(value, nullptr) << sample<TypeParam>::name << " has no factory";
  EXPECT_EQ(*value->type().second, typeid(TypeParam));
}

TYPED_TEST(CafRoundTrip, InsideCafMessage) {
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
  ASSERT_EQ(out.size(), 2u);
  ASSERT_TRUE((out.match_elements<TypeParam, int32_t>()))
      << "received " << caf::to_string(out).substr(0, 200);
  EXPECT_EQ(out.get_as<TypeParam>(0), in);
  EXPECT_EQ(out.get_as<int32_t>(1), -5);
}

// Without register_message_types() the same bytes do not come back. CAF 0.17.6 reports no error:
// the receiver gets an empty message (the silent failure the registration exists to prevent;
// a sender without it writes nothing and only logs "[ERROR] ... not added to the types list").
TYPED_TEST(CafRoundTrip, UnregisteredSystemCannotReadIt) {
  auto& sys = registered_system();
  std::vector<char> buf;
  {
    caf::binary_serializer sink{sys, buf};
    ASSERT_FALSE(sink(caf::make_message(sample<TypeParam>::filled())));
  }
  caf::actor_system_config bare_cfg;
  bare_cfg.set("scheduler.max-threads", 1);
  caf::actor_system bare{bare_cfg};
  caf::message out;
  caf::binary_deserializer source{bare, buf};
  const caf::error err = source(out);
  EXPECT_TRUE(err || out.empty()) << "an unregistered type deserialised: " << caf::to_string(out);
  EXPECT_FALSE(out.match_elements<TypeParam>());
}

TYPED_TEST(CafRoundTrip, PrintsWithTypeName) {
  const std::string text = caf::deep_to_string(sample<TypeParam>::filled());
  EXPECT_EQ(text.rfind(sample<TypeParam>::name, 0), 0u) << text;
  // A dumped payload (kv_payload's sample holds 1 MiB) would be megabytes; step_report, which
  // nests several messages with every field set, prints about 500 characters.
  EXPECT_LT(text.size(), 1000u) << "printing must not dump payloads";
}

// -- tier_usage_request: no fields, so outside the typed tests (its sample equals its default) --

// Subnormal floats arrive exactly (CAF 0.17's own float packing turned 1e-40 into -1.16e35).
TEST(CafSamplingParams, SubnormalAndSpecialFloatsArriveBitForBit) {
  for (float v : {1e-40f, -1e-45f, std::numeric_limits<float>::denorm_min(), 0.0f, -0.0f,
                  std::numeric_limits<float>::max(), 0.7f}) {
    submit_job in;
    in.sampling.temperature = v;
    in.sampling.top_p = v;
    in.sampling.repetition_penalty = v;
    in.kv_sparsity = v;
    const submit_job out = round_trip(in);
    EXPECT_EQ(std::bit_cast<uint32_t>(out.sampling.temperature), std::bit_cast<uint32_t>(v)) << v;
    EXPECT_EQ(std::bit_cast<uint32_t>(out.sampling.top_p), std::bit_cast<uint32_t>(v)) << v;
    EXPECT_EQ(std::bit_cast<uint32_t>(out.sampling.repetition_penalty), std::bit_cast<uint32_t>(v)) << v;
    EXPECT_EQ(std::bit_cast<uint32_t>(out.kv_sparsity), std::bit_cast<uint32_t>(v)) << v;
  }
}

// Infinities and NaN in every float and double field: CAF 0.17's packing never returned for an
// infinity (a -inf logprob would hang the sending worker), so these round trips also bound time.
TEST(CafFloatFields, InfinitiesAndNanArriveBitForBit) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  token_chunk chunk;
  chunk.logprobs.push_back(token_logprob{7, -inf, "x", {1, 2}, {-inf, nan}, {"a", "b"}});
  const token_chunk chunk_out = round_trip(chunk);
  ASSERT_EQ(chunk_out.logprobs.size(), 1u);
  EXPECT_EQ(chunk_out.logprobs[0].logprob, -inf);
  ASSERT_EQ(chunk_out.logprobs[0].top_logprobs.size(), 2u);
  EXPECT_EQ(chunk_out.logprobs[0].top_logprobs[0], -inf);
  EXPECT_TRUE(std::isnan(chunk_out.logprobs[0].top_logprobs[1]));
  job_finished done;
  done.decode_ms = std::numeric_limits<double>::infinity();
  done.kv_bytes_read_per_step = 1e-310;  // subnormal double
  const job_finished done_out = round_trip(done);
  EXPECT_EQ(done_out.decode_ms, done.decode_ms);
  EXPECT_EQ(std::bit_cast<uint64_t>(done_out.kv_bytes_read_per_step),
            std::bit_cast<uint64_t>(done.kv_bytes_read_per_step));
  peer_link_bench_result bench;
  bench.seconds = {std::numeric_limits<double>::infinity(), 0.25};
  EXPECT_EQ(round_trip(bench).seconds, bench.seconds);
}

TEST(CafTierUsageRequest, RegisteredAndTravelsInsideCafMessage) {
  auto& sys = registered_system();
  EXPECT_EQ(sys.types().portable_name(0, &typeid(tier_usage_request)), "alisa.tier_usage_request");
  std::vector<char> buf;
  {
    caf::binary_serializer sink{sys, buf};
    ASSERT_FALSE(sink(caf::make_message(tier_usage_request{}, int32_t{3})));
  }
  caf::message out;
  caf::binary_deserializer source{sys, buf};
  ASSERT_FALSE(source(out));
  EXPECT_TRUE((out.match_elements<tier_usage_request, int32_t>())) << caf::to_string(out);
  EXPECT_EQ(caf::deep_to_string(tier_usage_request{}).rfind("alisa.tier_usage_request", 0), 0u);
}

// -- tier_error: the memory tier's error replies ---------------------------------------------

TEST(CafTierError, CarriesCodeCategoryAndReasonThroughSerialisation) {
  auto& sys = registered_system();
  const caf::error in = caf::make_error(tier_error::data_loss, std::string("checksum mismatch"));
  EXPECT_EQ(in.category(), tier_error_category);
  std::vector<char> buf;
  {
    caf::binary_serializer sink{sys, buf};
    ASSERT_FALSE(sink(in));
  }
  caf::error out;
  caf::binary_deserializer source{sys, buf};
  ASSERT_FALSE(source(out));
  EXPECT_EQ(out, in);
  EXPECT_EQ(out.code(), static_cast<uint8_t>(tier_error::data_loss));
  EXPECT_EQ(sys.render(out).find("alisa_tier data_loss: checksum mismatch"), 0u)
      << sys.render(out);
}

// -- kv_payload: the bulk path ---------------------------------------------------------------

TEST(CafKvPayload, BytesAreOneLengthPrefixPlusRawBytes) {
  kv_payload x = sample<kv_payload>::filled();
  // The same header fields followed by a std::vector<char> (CAF's own contiguous-bytes path).
  std::vector<char> as_chars(x.bytes.size());
  std::memcpy(as_chars.data(), x.bytes.data(), x.bytes.size());
  std::vector<char> expected;
  caf::binary_serializer sink{nullptr, expected};
  ASSERT_FALSE(sink(x.sequence, x.layer, x.part, x.block, x.offsets, as_chars));
  const std::vector<char> actual = serialize(x);
  ASSERT_EQ(actual.size(), expected.size());
  EXPECT_TRUE(actual == expected);
  EXPECT_LT(actual.size(), x.bytes.size() + 64) << "per-byte overhead in the encoding";
  EXPECT_EQ(std::memcmp(actual.data() + actual.size() - x.bytes.size(), x.bytes.data(),
                        x.bytes.size()),
            0);
}

TEST(CafKvPayload, DirectInspectOnBinarySerializerUsesRawPath) {
  // inspect(binary_serializer&, ...) called by name must not fall into the printing template.
  kv_payload x = sample<kv_payload>::filled();
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  ASSERT_FALSE(inspect(sink, x));
  EXPECT_TRUE(buf == serialize(x));
}

TEST(CafKvPayload, TruncatedInputIsAnError) {
  const std::vector<char> full = serialize(sample<kv_payload>::filled());
  for (size_t keep : {size_t{0}, size_t{5}, size_t{30}, full.size() / 2, full.size() - 1}) {
    const std::vector<char> cut(full.begin(), full.begin() + static_cast<ptrdiff_t>(keep));
    caf::error err;
    deserialize<kv_payload>(cut, &err);
    EXPECT_TRUE(err) << "kept " << keep << " of " << full.size() << " bytes";
  }
}

// Replaces the varbyte 0 that ends `buf` (an empty byte sequence's length) with ~4 GiB.
void end_with_a_huge_length_prefix(std::vector<char>& buf) {
  ASSERT_EQ(buf.back(), 0);
  buf.pop_back();
  uint32_t n = 0xfffffff0u;
  while (n > 0x7f) {
    buf.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  buf.push_back(static_cast<char>(n));
}

TEST(CafKvPayload, HugeLengthPrefixFailsWithoutAllocating) {
  // An empty payload ends in its length prefix (varbyte 0); replace it with ~4 GiB.
  std::vector<char> buf = serialize(sample<kv_payload>::emptied(sample<kv_payload>::filled()));
  end_with_a_huge_length_prefix(buf);
  caf::error err;
  const kv_payload out = deserialize<kv_payload>(buf, &err);
  ASSERT_TRUE(err);
  EXPECT_EQ(err, caf::sec::end_of_stream) << caf::to_string(err);
  EXPECT_TRUE(out.bytes.empty());
}

// The uint8_t fields too (kv_payload_batch::status, peer_link_offer::unique_id): CAF's own loader
// resized to the prefix first (tests/fuzz/fuzz_caf_messages found a 4 GiB allocation).
TEST(CafKvPayload, HugeByteFieldPrefixFailsWithoutAllocating) {
  std::vector<char> buf = serialize(kv_payload_batch{});
  end_with_a_huge_length_prefix(buf);
  caf::error err;
  const kv_payload_batch out = deserialize<kv_payload_batch>(buf, &err);
  EXPECT_EQ(err, caf::sec::end_of_stream) << caf::to_string(err);
  EXPECT_TRUE(out.status.empty());
}

TEST(CafKvPayload, PrintsByteCountNotBytes) {
  const std::string text = caf::deep_to_string(sample<kv_payload>::filled());
  EXPECT_NE(text.find(std::to_string(kMiB + 3)), std::string::npos) << text;
  EXPECT_NE(text.find("hidden"), std::string::npos) << text;
  EXPECT_NE(text.find("alisa.seq_id(10)"), std::string::npos) << text;
}

TEST(CafKvPayload, SixteenMiBSerialisesInUnderOneSecond) {
  kv_payload x = sample<kv_payload>::filled();
  x.bytes = random_bytes(16 * kMiB, 11);
  using clock = std::chrono::steady_clock;
  double best_save = 1e9;
  double best_load = 1e9;
  for (int rep = 0; rep < 3; ++rep) {
    auto t0 = clock::now();
    std::vector<char> buf;
    caf::binary_serializer sink{nullptr, buf};
    ASSERT_FALSE(sink(x));
    auto t1 = clock::now();
    kv_payload y;
    caf::binary_deserializer source{nullptr, buf};
    ASSERT_FALSE(source(y));
    auto t2 = clock::now();
    ASSERT_TRUE(y == x);
    best_save = std::min(best_save, std::chrono::duration<double>(t1 - t0).count());
    best_load = std::min(best_load, std::chrono::duration<double>(t2 - t1).count());
  }
  std::printf("[ caf ] kv_payload 16 MiB: serialise %.2f ms (%.0f MiB/s), deserialise %.2f ms "
              "(%.0f MiB/s)\n",
              best_save * 1e3, 16.0 / best_save, best_load * 1e3, 16.0 / best_load);
  EXPECT_LT(best_save, 1.0);
  EXPECT_LT(best_load, 1.0);
}

TEST(CafKvPayload, VectorOfPayloadsRoundTrips) {
  // add_message_type also registers std::vector<T>; its elements go through the same path.
  std::vector<kv_payload> xs{sample<kv_payload>::filled(),
                             sample<kv_payload>::emptied(sample<kv_payload>::filled())};
  const auto out = round_trip(xs);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], xs[0]);
  EXPECT_EQ(out[1], xs[1]);
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
