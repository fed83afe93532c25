#include "proto/caf_messages.hpp"

#include "caf/actor_system_config.hpp"
#include "caf/binary_deserializer.hpp"
#include "caf/error.hpp"
#include "caf/sec.hpp"

namespace alisa {

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
      .add_message_type<step_report>("alisa.step_report");
}

caf::error inspect(caf::serializer& f, kv_payload& x) {
  if (auto err = f(x.sequence, x.layer, x.part, x.block, x.offsets)) return err;
  size_t num_bytes = x.bytes.size();
  if (auto err = f.begin_sequence(num_bytes)) return err;
  if (num_bytes > 0)
    if (auto err = f.apply_raw(num_bytes, x.bytes.data())) return err;
  return f.end_sequence();
}

caf::error inspect(caf::deserializer& f, kv_payload& x) {
  if (auto err = f(x.sequence, x.layer, x.part, x.block, x.offsets)) return err;
  size_t num_bytes = 0;
  if (auto err = f.begin_sequence(num_bytes)) return err;
  if (auto* bin = dynamic_cast<caf::binary_deserializer*>(&f);
      bin != nullptr && num_bytes > bin->remaining())
    return caf::make_error(caf::sec::end_of_stream);
  x.bytes.resize(num_bytes);
  if (num_bytes > 0)
    if (auto err = f.apply_raw(num_bytes, x.bytes.data())) return err;
  return f.end_sequence();
}

}  // namespace alisa
