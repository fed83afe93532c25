#include "proto/caf_messages.hpp"

#include "caf/actor_system_config.hpp"
#include "caf/binary_deserializer.hpp"
#include "caf/error.hpp"
#include "caf/message.hpp"
#include "caf/sec.hpp"

namespace alisa {
namespace {

// "alisa_tier not_found: no value for sequence 7 layer 0 keys block 3"
std::string render_tier_error(uint8_t code, caf::atom_value, const caf::message& context) {
  std::string out = "alisa_tier " + to_string(static_cast<tier_error>(code));
  if (context.match_elements<std::string>()) out += ": " + context.get_as<std::string>(0);
  return out;
}

}  // namespace

void register_message_types(caf::actor_system_config& cfg) {
  // The names are the wire identity of each type: identical on every node, never renamed alone.
  cfg.add_message_type<submit_job>("alisa.submit_job")
      .add_message_type<job_accepted>("alisa.job_accepted")
      .add_message_type<job_rejected>("alisa.job_rejected")
      .add_message_type<token_chunk>("alisa.token_chunk")
      .add_message_type<job_finished>("alisa.job_finished")
      .add_message_type<job_failed>("alisa.job_failed")
      .add_message_type<cancel_job>("alisa.cancel_job")
      .add_message_type<kv_fetch>("alisa.kv_fetch")
      .add_message_type<kv_payload>("alisa.kv_payload")
      .add_message_type<node_hello>("alisa.node_hello")
      .add_message_type<tier_usage>("alisa.tier_usage")
      .add_message_type<step_plan>("alisa.step_plan")
      .add_message_type<step_report>("alisa.step_report")
      .add_message_type<runtime_metrics>("alisa.runtime_metrics")
      .add_message_type<kv_put_result>("alisa.kv_put_result")
      .add_message_type<kv_erase>("alisa.kv_erase")
      .add_message_type<kv_erase_result>("alisa.kv_erase_result")
      .add_message_type<tier_usage_request>("alisa.tier_usage_request")
      .add_message_type<kv_fetch_batch>("alisa.kv_fetch_batch")
      .add_message_type<kv_payload_batch>("alisa.kv_payload_batch")
      .add_message_type<kv_erase_owner>("alisa.kv_erase_owner")
      .add_message_type<peer_link_offer>("alisa.peer_link_offer")
      .add_message_type<peer_link_answer>("alisa.peer_link_answer")
      .add_message_type<peer_chunk>("alisa.peer_chunk")
      .add_message_type<peer_transfer>("alisa.peer_transfer")
      .add_message_type<peer_transfer_report>("alisa.peer_transfer_report")
      .add_message_type<peer_link_bench>("alisa.peer_link_bench")
      .add_message_type<peer_link_bench_result>("alisa.peer_link_bench_result");
  cfg.add_error_category(tier_error_category, render_tier_error);
}

std::string to_string(tier_error code) {
  switch (code) {
    case tier_error::not_found: return "not_found";
    case tier_error::data_loss: return "data_loss";
    case tier_error::invalid_argument: return "invalid_argument";
    case tier_error::io_error: return "io_error";
  }
  return "unknown";
}

namespace {

// A byte vector as one length prefix and one apply_raw call (the layout of std::vector<char>).
template <class Byte>
caf::error write_bytes(caf::serializer& f, std::vector<Byte>& bytes) {
  size_t num_bytes = bytes.size();
  if (auto err = f.begin_sequence(num_bytes)) return err;
  if (num_bytes > 0)
    if (auto err = f.apply_raw(num_bytes, bytes.data())) return err;
  return f.end_sequence();
}

// Rejects a length prefix longer than what is left of a binary_deserializer's buffer before
// allocating: a corrupt prefix must not allocate gigabytes.
template <class Byte>
caf::error read_bytes(caf::deserializer& f, std::vector<Byte>& bytes) {
  size_t num_bytes = 0;
  if (auto err = f.begin_sequence(num_bytes)) return err;
  if (auto* bin = dynamic_cast<caf::binary_deserializer*>(&f);
      bin != nullptr && num_bytes > bin->remaining())
    return caf::make_error(caf::sec::end_of_stream);
  bytes.resize(num_bytes);
  if (num_bytes > 0)
    if (auto err = f.apply_raw(num_bytes, bytes.data())) return err;
  return f.end_sequence();
}

}  // namespace

namespace caf_detail {
bool holds_at_least(caf::deserializer& f, size_t bytes) {
  auto* bin = dynamic_cast<caf::binary_deserializer*>(&f);
  return bin == nullptr || bytes <= bin->remaining();
}
}  // namespace caf_detail

caf::error inspect(caf::serializer& f, byte_field& x) { return write_bytes(f, x.bytes); }
caf::error inspect(caf::deserializer& f, byte_field& x) { return read_bytes(f, x.bytes); }

caf::error inspect(caf::serializer& f, kv_payload& x) {
  if (auto err = f(x.sequence, x.layer, x.part, x.block, x.offsets)) return err;
  return write_bytes(f, x.bytes);
}

caf::error inspect(caf::deserializer& f, kv_payload& x) {
  if (auto err = f(x.sequence, x.layer, x.part, x.block, x.offsets)) return err;
  return read_bytes(f, x.bytes);
}

caf::error inspect(caf::serializer& f, peer_chunk& x) {
  if (auto err = f(x.link_id, x.transfer, x.offset)) return err;
  return write_bytes(f, x.bytes);
}

caf::error inspect(caf::deserializer& f, peer_chunk& x) {
  if (auto err = f(x.link_id, x.transfer, x.offset)) return err;
  return read_bytes(f, x.bytes);
}

}  // namespace alisa
