#pragma once
// batch_engine — the gpu_worker's core without CAF: the jobs running on one engine, advanced one
// forward step at a time with every job's rows in the same step. Jobs join (add) and leave
// (finish, cancel) between steps: continuous batching. Each job samples, streams and stops exactly
// as gpu::generate() does alone, so a job's greedy text does not depend on its batch.
//
// Statistics: each finished job reports gpu::generate()'s figures (job_finished), over its decode
// steps only (every forward pass after the one that ran its prompt). The runner counts over the
// whole batch, so the engine splits each step's counter delta between the jobs in it:
//   - decode-row counters (tokens attended, K/V bytes read, (row, layer) pairs) come only from
//     single-row requests, so they are split equally between the step's single-row jobs;
//   - times (attention, selection, tier transfer, recompute) and tokens recomputed are split by
//     the job's share of the step's rows (a joining prompt of 100 rows takes 100/101 of a step it
//     shares with one decoding job).
// A job alone in its steps therefore reports exactly what gpu::generate() reports for it; in a
// shared step its share is the batch's mean, not its own count (the runner does not count per
// request).
//
// Thread affinity: one thread at a time (the worker actor's). Nothing else may reset or drive the
// engine's runner during step().
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <span>
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

  // One forward step over every job. Reports new text, and the jobs that ended (removed). When
  // the step throws (e.g. a job's KV and hidden states were lost) its jobs are reported in
  // step_report::lost and removed: the coordinator restarts them from their prompts.
  step_report step();

 private:
  struct job;
  void finish(job& j, gpu::finish_reason reason, step_report& report);
  void sample(job& j, std::span<const float> logits, step_report& report);
  // Splits the runner's counters since `before` (one step) between the step's decoding jobs as
  // described above; requests[i] is order[i]'s.
  void attribute(const gpu::attention_counters& before, std::span<job* const> order,
                 std::span<const gpu::forward_request> requests);

  local_engine& engine_;
  std::map<uint64_t, std::unique_ptr<job>> jobs_;  // by request id: a stable batch order
  std::vector<float> logits_;
};

}  // namespace alisa::actors
