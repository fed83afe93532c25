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

// A generation job: prompt token ids (with BOS) and how to sample.
struct submit_job {
  request_id id;
  std::vector<int32_t> prompt_ids;
  sampling_params sampling;
};

struct job_accepted {
  request_id id;
  int queue_position = 0;  // 0 = joins the running batch at the next step
};

// Refused at admission: queue full, prompt too long, bad sampling values. Nothing ran.
struct job_rejected {
  request_id id;
  std::string reason;
};

// Newly final tokens of a job and their text (complete UTF-8, never a possible stop-string start).
struct token_chunk {
  request_id id;
  std::vector<int32_t> token_ids;
  std::string text;
};

struct job_finished {
  request_id id;
  std::string finish_reason;  // eos | length | stop | context_full | cancelled
  int num_prompt_tokens = 0;
  int num_generated_tokens = 0;
  double prefill_ms = 0.0;
  double decode_ms = 0.0;
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
  node_id id;
  std::string role;      // coordinator | worker | memory
  std::string endpoint;  // host:port it listens on
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

// Coordinator -> worker, once per step: jobs joining the running batch (continuous batching) and
// jobs to drop (cancelled, client gone). The worker then runs one forward step.
struct step_plan {
  std::vector<submit_job> joiners;
  std::vector<request_id> cancelled;
};

// Worker -> coordinator, the step's outcome: new text per job, and jobs that ended.
struct step_report {
  std::vector<token_chunk> chunks;
  std::vector<job_finished> finished;
  std::vector<job_failed> failed;
};

}  // namespace alisa
