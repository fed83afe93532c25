#pragma once
// coordinator — admission with a bounded queue, continuous batching over any number of
// gpu_workers, cluster membership and failure handling.
//
//   client ──submit_job──> coordinator: encodes prompt_text when the job has no token ids, checks
//     the job (prompt fits the context, token ids in the vocabulary, sampling values valid),
//     queues it (job_accepted) or refuses it (job_rejected: queue full, no workers, bad job);
//   between steps: joiners = job_queue::next_joiners(), each placed on the alive worker running
//     the fewest jobs; every worker with work gets its own step_plan, and steps run on all
//     workers at once (one plan in flight per worker);
//   worker's step_report: token_chunk → its client, job_finished / job_failed → its client and the
//     job leaves; `lost` jobs restart from their prompt (at most max_restarts times);
//   client ──cancel_job──> coordinator (or the client actor goes down): the job is dropped from the
//     queue or, if running, from its worker at that worker's next step (which frees its KV).
//
// GPU-to-GPU links: a peer_link_bench pairs two workers (actors/peer_link_bench.hpp) and has
// them set up a link (NCCL or CAF messages) and move bytes of backend memory over it.
//
// Membership: a node's actor sends node_hello (role "worker" or "memory"); the coordinator
// monitors it. Workers are told the memory nodes alive ((memory_nodes_atom, vector<actor>, endpoints)) when
// they join and whenever that set changes. A worker's node_hello id is its sequence-id owner: when
// it dies, every memory node is told to erase that owner's blocks (kv_erase_owner). A worker that goes down (or fails a step request)
// takes its running jobs with it: they go back to the head of the queue and restart on another
// worker. Restarts are invisible to clients: generation is deterministic for a given job (greedy,
// or sampling seeded by sampling_params::seed, and batch-invariant kernels), so the coordinator
// checks that the replay repeats the tokens the client already has and forwards only what comes
// after them; a replay that diverges fails the job rather than splice two different texts.
//
// The bookkeeping (placement, restarts, replay) is scheduler::job_ledger, tested without CAF; this
// actor adapts it to messages.
//
// Thread affinity: a CAF actor (its own state only).
#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "model/tokenizer.hpp"
#include "proto/messages.hpp"
#include "scheduler/job_ledger.hpp"
#include "scheduler/job_queue.hpp"
#include "scheduler/prefix_affinity.hpp"

namespace alisa::actors {

struct coordinator_options {
  scheduler::batching_options batching;  // max_running is per worker
  int context_length = 0;  // the workers' model context: longer prompts are refused at admission
  int vocab_size = 0;
  int max_restarts = 2;    // restarts of one job after worker deaths or lost KV before it fails
  // A job that has had no worker alive for this long fails with an error saying so, instead of
  // waiting forever (the only worker died; none ever joined). 0 = wait for one indefinitely.
  std::chrono::milliseconds no_worker_timeout{std::chrono::seconds(60)};
  // A worker that does not answer a step plan within this long counts as failed (its jobs restart
  // elsewhere). Heartbeats catch a vanished host in 10 s on plain TCP; this bounds a hung worker
  // (and TLS links, which have no heartbeats). Must exceed the longest step (a prefill chunk).
  // 0 = no limit (the embedded runtime: an in-process worker's long step is only long).
  std::chrono::milliseconds step_timeout{std::chrono::seconds(300)};
  // The workers keep prefix caches (--prefix-cache-budget): place a job whose prompt starts like
  // an earlier one on that job's worker unless it is clearly busier (scheduler/prefix_affinity).
  bool prefix_affinity = false;
  // Encodes submit_job::prompt_text for jobs without token ids; null = such jobs are refused as
  // an empty prompt.
  std::shared_ptr<const model::tokenizer> tokenizer;
  int bos_token_id = -1;   // the prompt of an empty text (a tokenizer that adds no BOS)
  // engine/model_identity.hpp's text of the model this cluster serves: a worker's node_hello
  // must carry the same, else it is not used. Empty = no check (in-process workers).
  std::string model_identity;
};

// One admitted job: what to (re)start it from and whom to stream it to. Where it runs, its
// restarts and what its client has received are in coordinator_state::ledger.
struct coordinator_job {
  submit_job job;
  caf::actor client;
  std::chrono::steady_clock::time_point admitted_at = std::chrono::steady_clock::now();
};

struct coordinator_worker {
  caf::actor handle;                   // null once it went down
  std::vector<uint64_t> joiners;       // placed here, sent with the next plan
  std::vector<request_id> cancelled;   // running here, to drop at the next plan
  bool stepping = false;
  uint32_t kv_owner = 0;               // its sequences' id prefix on memory nodes (node_hello id)
  std::string endpoint;                // host:port from its node_hello ("" in-process)
  worker_kv_metrics kv;                // its KV figures after its latest step
  bool alive() const { return static_cast<bool>(handle); }
};

struct coordinator_state {
  std::unique_ptr<scheduler::job_queue> queue;  // made from the options when spawned
  // Placement, restarts and replay of every admitted job; its worker indices are `workers`'.
  std::unique_ptr<scheduler::job_ledger> ledger;
  scheduler::prefix_affinity affinity;          // used when options.prefix_affinity
  std::map<uint64_t, coordinator_job> jobs;     // every admitted job until it ends
  std::vector<coordinator_worker> workers;      // by join order; dead ones stay as tombstones
  std::vector<caf::actor> memory_nodes;
  std::vector<std::string> memory_endpoints;  // host:port each announced ("in-process" embedded)
  int per_worker_running = 1;
  // Since when no worker has been alive (nullopt while one is); a tick is scheduled while jobs wait.
  std::optional<std::chrono::steady_clock::time_point> workerless_since;
  bool no_worker_tick_pending = false;
  uint64_t next_id = 1;
  uint64_t next_link = 1;                       // id of the next GPU-to-GPU link (peer_link_bench)
  static inline const char* name = "alisa.coordinator";
};

// Spawns with the workers known up front (the embedded runtime); more can join with node_hello.
caf::behavior coordinator(caf::stateful_actor<coordinator_state>* self,
                          std::vector<caf::actor> workers, coordinator_options options);

}  // namespace alisa::actors
