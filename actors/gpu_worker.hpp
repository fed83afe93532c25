#pragma once
// gpu_worker — the actor that owns an engine (backend, model, KV) and runs one step plan at a time:
// joiners are added to its batch_engine, cancelled jobs dropped, then one forward step runs and its
// step_report is the reply. A joiner the engine refuses comes back in step_report::failed.
//
//   coordinator ──step_plan──> gpu_worker ──step_report (reply)──> coordinator
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <memory>

#include "actors/batch_engine.hpp"

namespace alisa::actors {

struct gpu_worker_state {
  std::unique_ptr<batch_engine> batch;
  static inline const char* name = "alisa.gpu_worker";
};

// `engine` must outlive the actor (the embedded runtime owns both).
caf::behavior gpu_worker(caf::stateful_actor<gpu_worker_state>* self, local_engine* engine);

}  // namespace alisa::actors
