#pragma once
// caf_messages — the one header in proto/ that knows CAF (design/architecture.md): inspect()
// overloads for every struct in proto/messages.hpp (and the ids, sampling_params and kv_part they
// hold), and register_message_types(), which every node calls on its actor_system_config before
// it builds its actor_system.
//
// Why both matter (shared/notes/toolchain.md, "CAF 0.17.6"): CAF sends a type it does not know as
// an empty message and the receiver fails only at run time; tests/proto/caf_roundtrip_test.cpp
// round-trips every type here through binary_serializer/binary_deserializer and caf::message.
//
// Wire format: CAF's binary format, field by field in declaration order. kv_payload::bytes and
// peer_chunk::bytes are one sequence length followed by the raw bytes (one apply_raw call) — the
// same layout CAF uses for std::vector<char> — through the caf::serializer& / caf::deserializer&
// overloads below; element by element it would be one virtual call per byte (tens of MiB/s).
//
// Adding a message: write its inspect() here, add it to register_message_types() in
// caf_messages.cpp and to the round-trip test (tests/proto/caf_roundtrip_test.cpp; the peer-link
// messages: tests/proto/peer_link_messages_test.cpp).
#include <bit>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "caf/atom.hpp"
#include "caf/deserializer.hpp"
#include "caf/error.hpp"
#include "caf/fwd.hpp"
#include "caf/make_message.hpp"  // CAF_ERROR_CODE_ENUM builds error context messages
#include "caf/meta/type_name.hpp"
#include "caf/sec.hpp"
#include "caf/serializer.hpp"
#include "proto/ids.hpp"
#include "proto/kv_tier.hpp"
#include "proto/messages.hpp"
#include "proto/sampling_params.hpp"

namespace alisa {

// Registers every message type of proto/messages.hpp as "alisa.<struct name>" (CAF also adds
// "std::vector<alisa.<name>>" and "stream<alisa.<name>>"). The names are the wire identity of a
// type: they must be identical on every node of a cluster, so never rename one without
// upgrading all nodes together. Call once per config, before constructing the actor_system.
void register_message_types(caf::actor_system_config& cfg);

namespace caf_detail {

// CAF's binary (de)serializers: the inspectors that move data, as opposed to printing it.
template <class Inspector>
inline constexpr bool is_data_processor = std::is_base_of_v<caf::serializer, Inspector> ||
                                          std::is_base_of_v<caf::deserializer, Inspector>;

template <class Tag>
inline constexpr const char* id_type_name = "alisa.strong_id";
template <>
inline constexpr const char* id_type_name<request_tag> = "alisa.request_id";
template <>
inline constexpr const char* id_type_name<seq_tag> = "alisa.seq_id";
template <>
inline constexpr const char* id_type_name<node_tag> = "alisa.node_id";
template <>
inline constexpr const char* id_type_name<block_tag> = "alisa.block_id";

}  // namespace caf_detail

// -- ids and nested types --------------------------------------------------------------------

template <class Inspector, class Tag>
typename Inspector::result_type inspect(Inspector& f, strong_id<Tag>& x) {
  return f(caf::meta::type_name(caf_detail::id_type_name<Tag>), x.value);
}

// kv_part travels as its uint8_t through CAF's built-in enum path (serializer/deserializer).
// This overload is for printing only (deep_to_string shows "values", not "<unprintable>"); it
// must stay out of the data processors, where it would be ambiguous with the enum path.
template <class Inspector>
  requires(!caf_detail::is_data_processor<Inspector>)
typename Inspector::result_type inspect(Inspector& f, kv_part& x) {
  static_assert(!Inspector::writes_state, "kv_part loads only through caf::deserializer");
  std::string name{to_string(x)};
  return f(name);
}

// Every float and double field crosses as its IEEE-754 bits. CAF 0.17 packs them with its own
// detail::pack754, which mangles subnormals (a temperature of 1e-40 arrived as -1.16e35) and
// never returns for an infinity (it halves inf until it is below 2: a -inf logprob would hang the
// sending thread; found by tests/fuzz/fuzz_caf_messages). The bits arrive exactly. Printing
// inspectors show the value. Use: `ieee_bits<float> t{&x.temperature}; f(..., t, ...)`.
template <class T>
struct ieee_bits {
  T* value;
};
using float_bits = ieee_bits<float>;

namespace caf_detail {
template <class T>
using bits_of = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
// Whether a deserializer still holds `bytes` (always true for one that is not CAF's binary one).
bool holds_at_least(caf::deserializer& f, size_t bytes);
}  // namespace caf_detail

template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, ieee_bits<T>& x) {
  using bits_type = caf_detail::bits_of<T>;
  if constexpr (!caf_detail::is_data_processor<Inspector>) {
    return f(*x.value);
  } else if constexpr (Inspector::writes_state) {
    bits_type bits = 0;
    auto err = f(bits);
    if (!err) *x.value = std::bit_cast<T>(bits);
    return err;
  } else {
    bits_type bits = std::bit_cast<bits_type>(*x.value);
    return f(bits);
  }
}

// A std::vector<float> or <double> field: its length, then each value's bits (as ieee_bits).
// Loading refuses a length beyond what the input holds before it allocates.
template <class T>
struct ieee_list {
  std::vector<T>* values;
};

template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, ieee_list<T>& x) {
  using bits_type = caf_detail::bits_of<T>;
  if constexpr (!caf_detail::is_data_processor<Inspector>) {
    return f(*x.values);
  } else {
    size_t n = x.values->size();
    if (auto err = f.begin_sequence(n)) return err;
    if constexpr (Inspector::writes_state) {
      if (!caf_detail::holds_at_least(f, n * sizeof(bits_type)))
        return caf::make_error(caf::sec::end_of_stream);
      x.values->resize(n);
    }
    for (auto& value : *x.values) {
      ieee_bits<T> bits{&value};
      if (auto err = f(bits)) return err;
    }
    return f.end_sequence();
  }
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sampling_params& x) {
  float_bits temperature{&x.temperature}, top_p{&x.top_p}, min_p{&x.min_p},
      presence{&x.presence_penalty}, frequency{&x.frequency_penalty},
      repetition{&x.repetition_penalty};
  return f(caf::meta::type_name("alisa.sampling_params"), temperature, top_p, x.top_k, x.seed,
           x.max_tokens, x.stop, x.ignore_eos, min_p, presence, frequency, repetition,
           x.logprobs, x.top_logprobs);
}

// -- client <-> coordinator ------------------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, submit_job& x) {
  float_bits kv_sparsity{&x.kv_sparsity};
  return f(caf::meta::type_name("alisa.submit_job"), x.id, x.prompt_ids, x.sampling,
           x.prompt_text, x.attention, kv_sparsity);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_accepted& x) {
  return f(caf::meta::type_name("alisa.job_accepted"), x.id, x.queue_position);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_rejected& x) {
  return f(caf::meta::type_name("alisa.job_rejected"), x.id, x.reason, x.retry_later);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_logprob& x) {
  ieee_bits<float> logprob{&x.logprob};
  ieee_list<float> top_logprobs{&x.top_logprobs};
  return f(caf::meta::type_name("alisa.token_logprob"), x.token_id, logprob, x.text, x.top_ids,
           top_logprobs, x.top_texts);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_chunk& x) {
  return f(caf::meta::type_name("alisa.token_chunk"), x.id, x.token_ids, x.text, x.logprobs,
           x.prompt_tokens_done);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_finished& x) {
  ieee_bits<double> prefill{&x.prefill_ms}, decode{&x.decode_ms},
      attended{&x.kv_tokens_attended_per_step}, read{&x.kv_bytes_read_per_step},
      attention{&x.attention_ms}, selection{&x.selection_ms}, transfer{&x.kv_transfer_ms},
      recompute{&x.recompute_ms};
  return f(caf::meta::type_name("alisa.job_finished"), x.id, x.finish_reason,
           x.num_prompt_tokens, x.num_generated_tokens, prefill, decode, x.num_decode_steps,
           attended, read, attention, selection, transfer, recompute, x.tokens_recomputed,
           x.memory_node_peak_bytes, x.cached_tokens);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_failed& x) {
  return f(caf::meta::type_name("alisa.job_failed"), x.id, x.reason);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cancel_job& x) {
  return f(caf::meta::type_name("alisa.cancel_job"), x.id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, step_plan& x) {
  return f(caf::meta::type_name("alisa.step_plan"), x.joiners, x.cancelled);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tier_stats& x) {
  return f(caf::meta::type_name("alisa.tier_stats"), x.bytes_resident, x.peak_bytes_resident,
           x.tokens_loaded, x.bytes_read, x.bytes_written, x.hits, x.misses);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_kv_metrics& x) {
  return f(caf::meta::type_name("alisa.worker_kv_metrics"), x.tiers, x.tokens_recomputed,
           x.preemptions, x.sequences_per_phase, x.prefix_hit_tokens, x.prefix_cache_bytes);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, runtime_metrics& x) {
  return f(caf::meta::type_name("alisa.runtime_metrics"), x.workers, x.memory_nodes, x.queued,
           x.running, x.restarts, x.memory_node_bytes, x.kv, x.context_length);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, step_report& x) {
  return f(caf::meta::type_name("alisa.step_report"), x.chunks, x.finished, x.failed,
           x.lost, x.kv);
}

// -- worker <-> memory tier ------------------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_fetch& x) {
  return f(caf::meta::type_name("alisa.kv_fetch"), x.sequence, x.layer, x.part, x.block,
           x.offsets);
}

// A std::vector<uint8_t> field on the wire exactly as CAF writes one (a length prefix, then the
// raw bytes), but loading refuses a length beyond what a binary_deserializer has left before it
// allocates: CAF's own loader resizes first, so a peer's 4-byte prefix could cost 4 GiB (found
// by tests/fuzz/fuzz_caf_messages). Used as `byte_field field{x.bytes}; f(..., field, ...)`.
struct byte_field {
  std::vector<uint8_t>& bytes;
};
caf::error inspect(caf::serializer& f, byte_field& x);
caf::error inspect(caf::deserializer& f, byte_field& x);
template <class Inspector>
  requires(!caf_detail::is_data_processor<Inspector>)
typename Inspector::result_type inspect(Inspector& f, byte_field& x) {
  return f(x.bytes);
}

// Serialising / deserialising: the header fields, then `bytes` as one length prefix and one
// apply_raw call. Deserialising rejects a length prefix longer than what is left of a
// binary_deserializer's buffer before allocating (a corrupt prefix must not allocate gigabytes).
// Defined in caf_messages.cpp. As non-templates they win over the printing template below for
// every serializer/deserializer, binary_serializer included (the template excludes them).
caf::error inspect(caf::serializer& f, kv_payload& x);
caf::error inspect(caf::deserializer& f, kv_payload& x);

// Every other inspector (deep_to_string, logging): the byte count instead of the bytes.
template <class Inspector>
  requires(!caf_detail::is_data_processor<Inspector>)
typename Inspector::result_type inspect(Inspector& f, kv_payload& x) {
  static_assert(!Inspector::writes_state, "kv_payload loads only through caf::deserializer");
  uint64_t num_bytes = x.bytes.size();
  return f(caf::meta::type_name("alisa.kv_payload"), x.sequence, x.layer, x.part, x.block,
           x.offsets, num_bytes);
}

// -- nodes -----------------------------------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_hello& x) {
  return f(caf::meta::type_name("alisa.node_hello"), x.id, x.role, x.endpoint, x.model_identity);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tier_usage& x) {
  return f(caf::meta::type_name("alisa.tier_usage"), x.id, x.host_bytes_used, x.host_budget,
           x.nvme_bytes_used, x.nvme_budget);
}

// -- memory tier protocol (the block at the end of messages.hpp) ------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_put_result& x) {
  return f(caf::meta::type_name("alisa.kv_put_result"), x.outcome, x.error);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_erase& x) {
  return f(caf::meta::type_name("alisa.kv_erase"), x.sequence, x.whole_sequence, x.layer, x.part,
           x.block);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_erase_result& x) {
  return f(caf::meta::type_name("alisa.kv_erase_result"), x.error);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tier_usage_request&) {
  return f(caf::meta::type_name("alisa.tier_usage_request"));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_erase_owner& x) {
  return f(caf::meta::type_name("alisa.kv_erase_owner"), x.owner);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_fetch_batch& x) {
  return f(caf::meta::type_name("alisa.kv_fetch_batch"), x.fetches);
}

// Each payload through kv_payload's own raw-bytes inspect; status as a bounded byte_field.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_payload_batch& x) {
  byte_field status{x.status};
  return f(caf::meta::type_name("alisa.kv_payload_batch"), x.payloads, status);
}

// -- GPU-to-GPU links (the block at the end of messages.hpp) ----------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_link_offer& x) {
  byte_field unique_id{x.unique_id};
  return f(caf::meta::type_name("alisa.peer_link_offer"), x.link_id, x.transport, unique_id,
           x.size, x.rank, x.reason);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_link_answer& x) {
  return f(caf::meta::type_name("alisa.peer_link_answer"), x.link_id, x.transport, x.reason);
}

// As kv_payload: the header fields, then `bytes` as one length prefix and one apply_raw call
// (a transfer of 64 MiB is 16 of these). Defined in caf_messages.cpp.
caf::error inspect(caf::serializer& f, peer_chunk& x);
caf::error inspect(caf::deserializer& f, peer_chunk& x);

// Every other inspector (deep_to_string, logging): the byte count instead of the bytes.
template <class Inspector>
  requires(!caf_detail::is_data_processor<Inspector>)
typename Inspector::result_type inspect(Inspector& f, peer_chunk& x) {
  static_assert(!Inspector::writes_state, "peer_chunk loads only through caf::deserializer");
  uint64_t num_bytes = x.bytes.size();
  return f(caf::meta::type_name("alisa.peer_chunk"), x.link_id, x.transfer, x.offset, num_bytes);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_transfer& x) {
  return f(caf::meta::type_name("alisa.peer_transfer"), x.link_id, x.send, x.bytes, x.rounds,
           x.seed);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_transfer_report& x) {
  ieee_list<double> seconds{&x.seconds};
  return f(caf::meta::type_name("alisa.peer_transfer_report"), x.link_id, x.transport, x.bytes,
           seconds, x.checksums);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_link_bench& x) {
  return f(caf::meta::type_name("alisa.peer_link_bench"), x.bytes, x.rounds, x.transport,
           x.workers);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_link_bench_result& x) {
  ieee_list<double> seconds{&x.seconds};
  return f(caf::meta::type_name("alisa.peer_link_bench_result"), x.transport, x.reason, x.sender,
           x.receiver, x.bytes, seconds, x.checksums);
}

// The caf::error category of tier_error ("alisa_tier"): `caf::make_error(tier_error::not_found,
// std::string(why))` builds one; register_message_types() registers a renderer for it.
inline constexpr caf::atom_value tier_error_category = caf::atom("alisa_tier");
std::string to_string(tier_error code);

}  // namespace alisa

CAF_ERROR_CODE_ENUM(alisa::tier_error, "alisa_tier")
