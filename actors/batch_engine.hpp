#pragma once
// batch_engine — the gpu_worker's core without CAF: the jobs running on one engine, advanced one
// forward step at a time with every job's rows in the same step. Jobs join (add) and leave
// (finish, cancel) between steps: continuous batching. Each job samples, streams and stops exactly
// as gpu::generate() does alone, so a job's greedy text does not depend on its batch.
//
// Thread affinity: one thread at a time (the worker actor's).
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/local_engine.hpp"
#include "gpu/sampler.hpp"
#include "gpu/text_stream.hpp"
#include "proto/messages.hpp"

namespace alisa::actors {

class batch_engine {
 public:
  explicit batch_engine(local_engine& engine);
  ~batch_engine();

  // Queues a job for the next step (it prefills then). A reason when it cannot run: empty
  // prompt, a prompt that leaves no room in the context, bad sampling values, a duplicate id.
  std::optional<std::string> add(const submit_job& job);
  // Drops a job and frees its KV; unknown ids are ignored.
  void cancel(request_id id);
  bool empty() const { return jobs_.empty(); }
  size_t size() const { return jobs_.size(); }

  // One forward step over every job. Reports new text, and the jobs that ended (removed). A job
  // whose step throws (e.g. its KV was lost) is reported failed and removed; the others go on.
  step_report step();

 private:
  struct job;
  void finish(job& j, gpu::finish_reason reason, step_report& report);
  void sample(job& j, std::span<const float> logits, step_report& report);

  local_engine& engine_;
  std::map<uint64_t, std::unique_ptr<job>> jobs_;  // by request id: a stable batch order
  std::vector<float> logits_;
};

}  // namespace alisa::actors
