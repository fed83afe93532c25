#pragma once
// client — submitting one job to a coordinator (in this process or over the network) and
// receiving its stream, as a blocking call for commands and tests:
//
//   client ──submit_job──> coordinator ──job_accepted──> client
//          <──token_chunk*── ... <──job_finished | job_failed──      (or job_rejected at once)
//
// The client is a scoped actor that monitors the coordinator, so a coordinator that goes away
// ends the wait with an error instead of a hang. When the client's process (or the scoped actor)
// goes away mid-job, the coordinator cancels the job and frees its KV.
#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/messages.hpp"

namespace alisa::actors {

struct job_outcome {
  bool accepted = false;
  std::string error;        // job_rejected / job_failed reason (empty when it finished)
  bool rejected = false;    // refused at admission (nothing ran)
  bool retry_later = false; // refused because the queue was full
  job_finished finished;    // valid when error is empty
  std::vector<int32_t> token_ids;
  std::string text;
  std::vector<token_logprob> logprobs;  // one per token, when the job asked for logprobs
};

// Blocks until the job ends; on_text receives the text as it streams. Thread-safe.
job_outcome submit_and_wait(caf::actor_system& system, const caf::actor& coordinator,
                            const submit_job& job,
                            const std::function<void(std::string_view)>& on_text = {});

// What a caller that may abandon its job (an HTTP client that hung up) is told, and asks.
struct job_watch {
  std::function<void(const job_accepted&)> on_accepted;
  // Each token_chunk as it arrives (token ids, text, logprobs). false = abandon the job.
  std::function<bool(const token_chunk&)> on_chunk;
  // Asked every poll_interval while nothing arrives; false = abandon the job.
  std::function<bool()> still_wanted;
  std::chrono::milliseconds poll_interval{250};
};

// Like submit_and_wait, but the caller may abandon the job: the coordinator is sent cancel_job
// (it frees the job's KV at its worker's next step) and the outcome's error is "cancelled".
// out.rejected_retry_later is set when the coordinator refused it because its queue was full.
job_outcome submit_and_watch(caf::actor_system& system, const caf::actor& coordinator,
                             const submit_job& job, const job_watch& watch);

}  // namespace alisa::actors
