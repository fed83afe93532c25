#pragma once
// coordinator — admission with a bounded queue and continuous batching over one gpu_worker.
//
//   client ──submit_job──> coordinator: checks the job (prompt fits the context, sampling values
//     valid), queues it (job_accepted) or refuses it (job_rejected: queue full, bad job);
//   between steps: joiners = job_queue::next_joiners(); coordinator ──step_plan──> worker;
//   worker's step_report: token_chunk → its client, job_finished / job_failed → its client and the
//     job leaves the queue; then the next step, while anything runs or waits;
//   client ──cancel_job──> coordinator (or the client actor goes down): the job is dropped from the
//     queue or, if running, from the worker at the next step.
//
// Thread affinity: a CAF actor (its own state only).
#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <map>
#include <memory>
#include <vector>

#include "proto/messages.hpp"
#include "scheduler/job_queue.hpp"

namespace alisa::actors {

struct coordinator_options {
  scheduler::batching_options batching;
  int context_length = 0;  // the workers' model context: longer prompts are refused at admission
  int vocab_size = 0;
};

struct coordinator_state {
  std::unique_ptr<scheduler::job_queue> queue;  // made from the options when spawned
  std::map<uint64_t, caf::actor> clients;      // request id -> who submitted it
  std::map<uint64_t, submit_job> waiting;      // queued jobs' contents until they join
  std::vector<request_id> cancelled;           // running jobs to drop at the next step
  caf::actor worker;
  bool stepping = false;
  uint64_t next_id = 1;
  static inline const char* name = "alisa.coordinator";
};

caf::behavior coordinator(caf::stateful_actor<coordinator_state>* self, caf::actor worker,
                          coordinator_options options);

}  // namespace alisa::actors
