#pragma once
// messages — what the actors of the runtime send each other (docs/structures.md, "Actors"):
// plain structs with no behaviour, registered once with CAF in proto/caf_messages.hpp. Bulk
// payloads (KV rows, hidden states) are raw bytes so they serialise with one apply_raw call.
//
//   client ──submit_job──> coordinator ──job_accepted | job_rejected──> client
//   coordinator ──token_chunk*──> client ──...──> job_finished (or job_failed)
//   client ──cancel_job──> coordinator
//   worker ──kv_fetch──> memory_tier ──kv_payload──> worker;  worker ──kv_payload──> memory_tier
//   every node ──node_hello──> coordinator;  memory_tier ──tier_usage──> coordinator
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "proto/ids.hpp"
#include "proto/kv_tier.hpp"
#include "proto/sampling_params.hpp"

namespace alisa {

// A generation job: prompt token ids (with BOS) and how to sample. A client without the model's
// tokenizer (alisa submit) sends prompt_text instead and leaves prompt_ids empty: the coordinator
// encodes it (with BOS) before admission.
struct submit_job {
  request_id id;
  std::vector<int32_t> prompt_ids;
  sampling_params sampling;
  std::string prompt_text;
  // This job's attention policy and KV sparsity instead of the engine's (HTTP's `attention` and
  // `kv_sparsity` fields): "" = the engine's policy; kv_sparsity < 0 = the engine's sparsity.
  std::string attention;
  float kv_sparsity = -1.0f;
};

struct job_accepted {
  request_id id;
  int queue_position = 0;  // 0 = joins the running batch at the next step
};

// Refused at admission: queue full, prompt too long, bad sampling values. Nothing ran.
struct job_rejected {
  request_id id;
  std::string reason;
  bool retry_later = false;  // the queue was full: the same job may be accepted later
};

// One sampled token's log-probability and the most likely alternatives at its step
// (sampling_params::logprobs / top_logprobs). Texts are the tokens' raw bytes (maybe partial
// UTF-8).
struct token_logprob {
  int32_t token_id = 0;
  float logprob = 0.0f;
  std::string text;
  std::vector<int32_t> top_ids;  // most likely first
  std::vector<float> top_logprobs;
  std::vector<std::string> top_texts;
};

// Newly final tokens of a job and their text (complete UTF-8, never a possible stop-string start).
struct token_chunk {
  request_id id;
  std::vector<int32_t> token_ids;
  std::string text;
  std::vector<token_logprob> logprobs;  // one per token id, when the job asked for logprobs
  // A chunk with no tokens while a long prompt is prefilled over several steps: the prompt
  // tokens done so far (progress for clients; 0 in every chunk that carries tokens).
  int32_t prompt_tokens_done = 0;
};

// A job's end and its statistics, with gpu::generation_result's meanings: the attention figures
// cover the decode steps only (every forward pass after the prompt's). A step that several jobs
// share is split between them as engine/step_loop.hpp describes; alone, the figures are exact.
struct job_finished {
  request_id id;
  std::string finish_reason;  // eos | length | stop | context_full | cancelled
  int num_prompt_tokens = 0;
  int num_generated_tokens = 0;
  double prefill_ms = 0.0;
  double decode_ms = 0.0;
  int num_decode_steps = 0;                  // forward passes timed in decode_ms
  double kv_tokens_attended_per_step = 0.0;  // tokens one query head attended per layer (mean)
  double kv_bytes_read_per_step = 0.0;       // K+V bytes attention read per step, all layers
  double attention_ms = 0.0;
  double selection_ms = 0.0;
  double kv_transfer_ms = 0.0;  // tiered KV only: moving rows between tiers
  double recompute_ms = 0.0;    // tiered KV only: recomputing dropped rows
  int64_t tokens_recomputed = 0;  // (token, layer) K/V rows recomputed
  // Bytes of KV and hidden states the job's worker held on each memory node (the worker's peak
  // while the job ran; all its jobs together), in the order the nodes joined. Empty without
  // memory nodes.
  std::vector<uint64_t> memory_node_peak_bytes;
  // Prompt tokens replayed from the prefix cache instead of prefilled (--prefix-cache-budget).
  int cached_tokens = 0;
};

// Accepted, then lost: a fault nothing could recover from (the reason says which).
struct job_failed {
  request_id id;
  std::string reason;
};

struct cancel_job {
  request_id id;
};

// Token-granular KV request of a worker to a memory tier: these positions of one block.
struct kv_fetch {
  seq_id sequence;
  uint16_t layer = 0;
  kv_part part = kv_part::keys;
  uint32_t block = 0;
  std::vector<int32_t> offsets;  // rows within the block, ascending
};

// Rows of one block (a whole stored block value, or the fetched rows in offsets order). `bytes`
// is opaque here (storage/block_codec.hpp frames whole blocks) and serialised in one piece.
struct kv_payload {
  seq_id sequence;
  uint16_t layer = 0;
  kv_part part = kv_part::keys;
  uint32_t block = 0;
  std::vector<int32_t> offsets;  // empty = the whole block value
  std::vector<std::byte> bytes;
};

// A node announcing itself to the coordinator.
struct node_hello {
  node_id id;            // a worker: its sequences' owner prefix (kv_erase_owner); else its port
  std::string role;      // coordinator | worker | memory
  std::string endpoint;  // host:port it listens on
  // A worker: engine/model_identity.hpp's text of the model it serves; the coordinator ignores a
  // worker whose identity differs from its own. Empty for memory nodes (and in-process).
  std::string model_identity;
};

// A memory tier's usage, reported after changes and on request.
struct tier_usage {
  node_id id;
  uint64_t host_bytes_used = 0;
  uint64_t host_budget = 0;
  uint64_t nvme_bytes_used = 0;
  uint64_t nvme_budget = 0;
};

}  // namespace alisa

namespace alisa {

// A worker's KV tiers, cumulative since it started (for /metrics): per tier (kv_tier order)
// resident bytes now and the traffic so far, rows recomputed, preemptions, and how many of its
// running sequences are in each ALISA phase (I, II, III). Empty tiers without a tiered store.
struct worker_kv_metrics {
  std::vector<tier_stats> tiers;
  uint64_t tokens_recomputed = 0;
  uint64_t preemptions = 0;
  std::vector<uint32_t> sequences_per_phase;
  // The prefix cache, per tier where its blocks were found or are held (engine::prefix_tier
  // order: host, nvme, memory_node; empty without a prefix cache): prompt tokens replayed from
  // it, and bytes held now (the shared memory-node tier's are not known to a worker: 0).
  std::vector<uint64_t> prefix_hit_tokens;
  std::vector<uint64_t> prefix_cache_bytes;
};

// anyone ──metrics_atom──> coordinator ──runtime_metrics──> : membership, the queue, and the
// live workers' KV figures summed (their latest step_report's).
struct runtime_metrics {
  uint32_t workers = 0;
  uint32_t memory_nodes = 0;
  uint32_t queued = 0;
  uint32_t running = 0;
  uint64_t restarts = 0;
  uint64_t memory_node_bytes = 0;
  worker_kv_metrics kv;
  int32_t context_length = 0;  // the workers' model context (0 = the coordinator does not know)
};

// Coordinator -> worker, once per step: jobs joining the running batch (continuous batching) and
// jobs to drop (cancelled, client gone). The worker then runs one forward step.
struct step_plan {
  std::vector<submit_job> joiners;
  std::vector<request_id> cancelled;
};

// Worker -> coordinator, the step's outcome: new text per job, and jobs that ended. `failed` jobs
// cannot run (refused by the engine); `lost` jobs ran into a fault mid-generation (their KV and the
// hidden states to recompute it are gone, a step threw): the worker dropped them, and the
// coordinator may restart them from their prompt (re-prefill).
struct step_report {
  std::vector<token_chunk> chunks;
  std::vector<job_finished> finished;
  std::vector<job_failed> failed;
  std::vector<job_failed> lost;
  worker_kv_metrics kv;  // the worker's KV tiers after the step
};

}  // namespace alisa

namespace alisa {

// -- worker <-> memory tier: the rest of the protocol (actors/memory_tier.hpp draws it) --------
//
//   worker ──kv_payload (whole value)──> memory_tier ──kv_put_result──> worker
//   worker ──kv_fetch──> memory_tier ──kv_payload (the fetched rows) | error (tier_error)──> worker
//   worker ──kv_erase──> memory_tier ──kv_erase_result──> worker
//   anyone ──tier_usage_request──> memory_tier ──tier_usage──> anyone
//   worker ──kv_fetch_batch──> memory_tier ──kv_payload_batch──> worker

// How a put ended; the values match storage::put_outcome (proto cannot name storage/).
enum class kv_put_outcome : uint8_t { stored = 0, full = 1, failed = 2 };

struct kv_put_result {
  uint8_t outcome = 0;  // a kv_put_outcome
  std::string error;    // set only when outcome is failed: the tier's I/O error
};

// Removes one block value, or every value of the sequence when whole_sequence is set (then layer,
// part and block are ignored). Absent values are not an error.
struct kv_erase {
  seq_id sequence;
  bool whole_sequence = false;
  uint16_t layer = 0;
  kv_part part = kv_part::keys;
  uint32_t block = 0;
};

struct kv_erase_result {
  std::string error;  // empty: erased; else the tier's I/O error
};

// Asks a memory tier for its tier_usage.
struct tier_usage_request {};

// Removes every value of every sequence a worker numbered: sequence ids are (owner << 32) | n,
// owner being 32 random bits per worker (actors/tiered_kv_store.hpp). The coordinator sends it to
// every memory node when a worker dies, whose sequences would otherwise never be erased.
//   coordinator ──kv_erase_owner──> memory_tier ──kv_erase_result──> coordinator
struct kv_erase_owner {
  uint32_t owner = 0;
};

// Many kv_fetches in one request: a worker asks for every block of a layer it needs from one
// memory node in one round trip, instead of one round trip per block and part.
//   worker ──kv_fetch_batch──> memory_tier ──kv_payload_batch──> worker
struct kv_fetch_batch {
  std::vector<kv_fetch> fetches;
};

// The answers of a kv_fetch_batch, in request order: status[i] is 0 when payloads[i] holds the
// rows, else the tier_error code of that fetch (its payload then has no bytes).
struct kv_payload_batch {
  std::vector<kv_payload> payloads;
  std::vector<uint8_t> status;
};

// Why a memory tier answered a request with an error instead of a result. Travels as the code
// of a caf::error in the "alisa_tier" category (proto/caf_messages.hpp), with a message.
enum class tier_error : uint8_t {
  not_found = 1,         // no value under the key: recompute it
  data_loss = 2,         // the stored value is corrupt (checksum, framing)
  invalid_argument = 3,  // a malformed request (an offset outside the block, a partial put)
  io_error = 4,          // the tier's store failed an operation
};

}  // namespace alisa

namespace alisa {

// -- GPU-to-GPU links between workers (actors/peer_link_setup.hpp draws the protocol) ----------
//
//   client ──peer_link_bench──> coordinator ──(peer_link_atom, id, peer, transport)──> worker A
//   worker A (rank 0) ──peer_link_offer + its CAF mailbox──> worker B ──peer_link_answer + its
//     mailbox──> worker A: both build the link (NCCL, or CAF messages through host memory)
//   coordinator ──peer_transfer──> A and B ──peer_transfer_report──> coordinator
//   CAF transport only: A's mailbox ──peer_chunk*──> B's mailbox ──(uint64 bytes so far)──> A
//   coordinator ──peer_link_bench_result──> client

// Rank 0's proposal for link `link_id`: the transport it chose and, for "nccl", the communicator
// id every rank joins with (ncclUniqueId, 128 bytes). `reason` says why that transport.
struct peer_link_offer {
  uint64_t link_id = 0;
  std::string transport;           // "nccl" | "caf"
  std::vector<uint8_t> unique_id;  // nccl only
  int32_t size = 2;                // ranks in the link
  int32_t rank = 1;                // the receiver's rank
  std::string reason;
};

// The receiver's decision: the offered transport, or "caf" when it cannot use NCCL (reason says
// why). Rank 0 builds the same.
struct peer_link_answer {
  uint64_t link_id = 0;
  std::string transport;
  std::string reason;
};

// One piece of a CAF-transport transfer: `bytes` belong at `offset` of transfer number
// `transfer` (the n-th send on the link; both ends count). Serialised with one apply_raw call.
struct peer_chunk {
  uint64_t link_id = 0;
  uint64_t transfer = 0;
  uint64_t offset = 0;
  std::vector<std::byte> bytes;
};

// Coordinator -> worker: send (or receive) `bytes` of backend memory over link `link_id`,
// `rounds` times, round r carrying a pattern made from seed + r.
struct peer_transfer {
  uint64_t link_id = 0;
  bool send = false;
  uint64_t bytes = 0;
  uint32_t rounds = 0;
  uint64_t seed = 0;
};

// A worker's side of a peer_transfer: seconds per round (send or receive call), and a checksum
// per round of what it sent (computed before sending) or received (read back afterwards).
struct peer_transfer_report {
  uint64_t link_id = 0;
  std::string transport;
  uint64_t bytes = 0;
  std::vector<double> seconds;
  std::vector<uint64_t> checksums;
};

// Client -> coordinator: pair two workers (the named ones, by the endpoint they joined with, or
// the first two alive), build a link with `transport` ("auto": NCCL where both can, else CAF;
// "nccl": fail unless both can; "caf"), and move `bytes` from the first to the second `rounds`
// times.
struct peer_link_bench {
  uint64_t bytes = 0;
  uint32_t rounds = 0;
  std::string transport = "auto";
  std::vector<std::string> workers;  // empty, or two endpoints
};

// The coordinator's answer: the transport used and why, the two workers, the sender's seconds
// per round; the receiver's checksums equalled the sender's (else the answer is an error).
struct peer_link_bench_result {
  std::string transport;
  std::string reason;
  std::string sender;
  std::string receiver;
  uint64_t bytes = 0;
  std::vector<double> seconds;
  std::vector<uint64_t> checksums;
};

}  // namespace alisa
