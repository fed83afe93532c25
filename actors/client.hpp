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

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/messages.hpp"

namespace alisa::actors {

struct job_outcome {
  bool accepted = false;
  std::string error;        // job_rejected / job_failed reason (empty when it finished)
  job_finished finished;    // valid when error is empty
  std::vector<int32_t> token_ids;
  std::string text;
};

// Blocks until the job ends; on_text receives the text as it streams. Thread-safe.
job_outcome submit_and_wait(caf::actor_system& system, const caf::actor& coordinator,
                            const submit_job& job,
                            const std::function<void(std::string_view)>& on_text = {});

}  // namespace alisa::actors
