#pragma once
// embedded_runtime — the actor runtime inside one process: a CAF actor system with a coordinator,
// one gpu_worker that owns a local_engine and, when the engine has a host KV tier, a memory_tier
// actor holding it (the worker reaches it through a remote_block_store, as in a cluster). Clients are actors that send submit_job to
// coordinator() and receive job_accepted | job_rejected, then token_chunk... and job_finished |
// job_failed; submit() is such a client for callers that want a blocking call.
//
// Shutdown: the destructor sends exit messages to the coordinator, the worker and the memory tier
// before the actor system joins its threads (CAF 0.17 waits forever for actors that never exit).
// Throws std::runtime_error when the memory tier cannot start.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "actors/client.hpp"
#include "engine/local_engine.hpp"
#include "proto/messages.hpp"
#include "scheduler/job_queue.hpp"

namespace caf {
class actor;
class actor_system;
}  // namespace caf

namespace alisa::actors {

class embedded_runtime {
 public:
  // Throws std::invalid_argument naming the option when `batching` is out of range.
  embedded_runtime(std::unique_ptr<engine::local_engine> engine, const scheduler::batching_options& batching);
  ~embedded_runtime();
  embedded_runtime(const embedded_runtime&) = delete;
  embedded_runtime& operator=(const embedded_runtime&) = delete;

  // Submits through a fresh client actor and blocks until the job ends; on_text receives the text
  // as it streams. Thread-safe: several threads may submit at once (their jobs batch together).
  job_outcome submit(const submit_job& job, const std::function<void(std::string_view)>& on_text = {});

  caf::actor_system& system();
  const caf::actor& coordinator() const;
  // The engine the worker drives: only for reading its options and config while jobs run.
  const engine::local_engine& engine() const { return *engine_; }

 private:
  struct impl;
  void start_memory_tier();
  std::unique_ptr<engine::local_engine> engine_;
  std::unique_ptr<impl> impl_;
};

}  // namespace alisa::actors
