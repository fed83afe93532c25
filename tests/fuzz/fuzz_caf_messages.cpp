// The messages peers send. The first input byte picks the way in:
//  - 0: CAF's binary deserializer into a caf::message with alisa's types registered, as BASP does
//    with a payload from another node (type names, then the values);
//  - k > 0: straight into message type k of alisa's, as that type's inspect() reads it.
// What decodes is serialized again, so every inspect function runs both ways.
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/message.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "proto/caf_messages.hpp"

namespace {

caf::actor_system& system_once() {
  static caf::actor_system_config* config = [] {
    auto* c = new caf::actor_system_config;
    alisa::register_message_types(*c);
    c->set("logger.console", caf::atom("none"));
    c->set("scheduler.max-threads", 1);
    return c;
  }();
  static caf::actor_system* system = new caf::actor_system(*config);
  return *system;
}

template <class T>
void decode_as(caf::actor_system& sys, const char* data, size_t size) {
  caf::binary_deserializer source{sys, data, size};
  T value;
  if (source(value)) return;  // an error: refused, as it must be
  std::vector<char> buffer;
  caf::binary_serializer sink{sys, buffer};
  (void)sink(value);
}

template <class... Ts>
struct message_types {
  static constexpr size_t count = sizeof...(Ts);
  static void decode(size_t index, caf::actor_system& sys, const char* data, size_t size) {
    size_t i = 0;
    ((i++ == index ? decode_as<Ts>(sys, data, size) : void()), ...);
  }
};

using namespace alisa;
using all_types = message_types<submit_job, job_accepted, job_rejected, token_chunk, job_finished, job_failed, cancel_job, kv_fetch, kv_payload, node_hello, tier_usage, step_plan, step_report, runtime_metrics, kv_put_result, kv_erase, kv_erase_result, tier_usage_request, kv_fetch_batch, kv_payload_batch, kv_erase_owner, peer_link_offer, peer_link_answer, peer_chunk, peer_transfer, peer_transfer_report, peer_link_bench, peer_link_bench_result>;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  auto& sys = system_once();
  const char* rest = reinterpret_cast<const char*>(data + 1);
  if (data[0] == 0)
    decode_as<caf::message>(sys, rest, size - 1);
  else
    all_types::decode((data[0] - 1) % all_types::count, sys, rest, size - 1);
  return 0;
}
