#pragma once
// step_loop — the one step loop. Every path that runs the model drives it: the gpu_worker actor
// (so `alisa run`, `submit`, a cluster), local_engine::generate, `bench decode` and the tiered
// throughput table, and `eval ppl`. Nothing else calls model_runner::forward.
//
// Jobs join (add) and leave (finish, cancel) between steps: continuous batching. Each step():
//   1. ends jobs that reached max_tokens or their capacity;
//   2. admits waiting jobs whose device working set fits the device KV pool (admission below);
//   3. gives every running job its rows: one token when it decodes, a chunk of its prompt when it
//      prefills (all prefilling jobs together feed at most max_prefill_tokens token-equivalents,
//      rows weighted by the keys they attend to (prefill_cost): chunked prefill, so a long prompt
//      never stalls the decoding jobs for more than one chunk of about the same cost). Chunks
//      never change a job's output: the earlier ones run dense without its selection, the final
//      one holds the rows the selection scores (attention_selection::prefill_tail_rows: SWA's
//      window; H2O needs the whole prompt in one step, which then may exceed the budget);
//   4. runs one forward pass over all those rows, samples each job whose rows reached its last
//      token, and reports new text and the jobs that ended.
//
// Admission against the device pool (tiered engines, --device-kv-budget):
//   waiting ──(its working set fits beside the running ones; FCFS, no overtaking)──> running
//   running ──(--policy vllm: the pool is short before a step; latest admitted first)──> waiting
//            (its KV is freed; it is recomputed from its tokens when resumed, same output)
// A job that cannot fit even alone fails with a message naming the budget and what it needs.
// Without a tiered store every job is admitted (its dense cache is sized to prompt + max_tokens).
//
// Prefix cache (--prefix-cache-budget, engine/prefix_cache.hpp): a starting job replays the
// longest cached prefix of its prompt into its KV and prefills only the rest; its prompt steps
// copy the blocks the cache lacks (a kv_tap), published once fed. Only rows before the job's
// scored tail are kept or replayed (reusable_prompt_rows), so reuse never changes an output;
// job_finished::cached_tokens reports what was replayed.
//
// Statistics: each finished job reports its decode steps' figures (job_finished), over its
// decode steps only (every forward pass after the one that finished its prompt). The runner counts
// over the whole batch, so each step's counter delta is split between the jobs in it:
//   - decode-row counters (tokens attended, K/V bytes read, (row, layer) pairs) come only from
//     single-row requests, so they are split equally between the step's decoding jobs;
//   - times (attention, selection, tier transfer, recompute) and tokens recomputed are split by
//     the job's share of the step's rows.
// A job alone in its steps therefore reports exactly its own figures; in a shared step its share
// is the batch's mean (the runner does not count per request).
//
// Faults: a job whose KV cannot be allocated fails (step_report::failed) with the reason; a step
// whose forward pass throws (a job's KV and hidden states were lost) reports its jobs in
// step_report::lost and removes them: the coordinator restarts them from their prompts.
//
// Thread affinity: one thread at a time (the worker actor's, or the caller's). Nothing else may
// drive the engine's runner while a loop is alive.
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/local_engine.hpp"
#include "engine/prefill_cost.hpp"
#include "proto/messages.hpp"

namespace alisa::engine {

// Per-job behaviour beyond sampling, for evaluation and tools. The defaults are a served job.
struct job_extras {
  // Prompt rows one step may feed for this job (0 = as the loop's prefill budget allows). 1 feeds
  // every prompt position as its own single-row step, exactly as a decode step would see it
  // (sparse selection applies): teacher-forced evaluation.
  int prompt_rows_per_step = 0;
  // Ends the job with reason "length" once its prompt has run, sampling nothing.
  bool score_only = false;
  // Receives the logits row of each prompt position p (its prediction of position p + 1).
  std::function<void(int position, std::span<const float> logits)> on_prompt_logits;
};

// What the last step() did, for benchmarks that time steps.
struct step_stats {
  int prompt_rows = 0;   // prompt (or recompute) rows fed
  int64_t prompt_reach = 0;  // the furthest position a multi-row prompt chunk reached (+1)
  int decode_rows = 0;   // single-token decode rows fed
  int sampled = 0;       // tokens sampled
  int preempted = 0;     // jobs preempted before it (--policy vllm)
  int64_t rows_recomputed = 0;  // rows re-fed by resumed (preempted) jobs
};

class step_loop {
 public:
  // The prefill budget is engine.options().max_prefill_tokens, or the one given (0 = none).
  explicit step_loop(local_engine& engine);
  step_loop(local_engine& engine, int max_prefill_tokens);
  ~step_loop();
  step_loop(const step_loop&) = delete;
  step_loop& operator=(const step_loop&) = delete;

  // Queues a job; it is admitted at a later step. A reason when it cannot run: empty prompt, a
  // prompt that leaves no room in the context, bad sampling values, token ids outside the
  // vocabulary, a duplicate id, an attention override (submit_job::attention / kv_sparsity) that
  // is unknown, out of range, or not dense under the flexgen/vllm KV policies.
  std::optional<std::string> add(const submit_job& job, job_extras extras = {});
  // Drops a job (waiting or running) and frees its KV; unknown ids are ignored.
  void cancel(request_id id);
  bool empty() const { return jobs_.empty(); }
  size_t size() const { return jobs_.size(); }
  size_t num_waiting() const { return waiting_.size(); }

  // One forward step (see above). Reports new text, and the jobs that ended (removed).
  step_report step();
  const step_stats& last_step() const { return stats_; }
  // The engine's KV figures now, for /metrics: tier traffic since the tiered store started (or its
  // last begin_job), preemptions by this loop, and running sequences per ALISA phase.
  worker_kv_metrics kv_metrics() const;

 private:
  struct job;
  using job_map = std::map<uint64_t, std::unique_ptr<job>>;

  absl::StatusOr<std::optional<scheduler::selection_options>> job_attention(
      const submit_job& s) const;
  void end_finished_jobs(step_report& report);
  void admit(step_report& report);
  void admit_paged(step_report& report);
  void admit_fixed(step_report& report);
  bool start(job& j, step_report& report);
  int reusable_prompt_rows(const job& j) const;
  void reuse_prefix(job& j);
  void preempt(job& j);
  void fail(job& j, const std::string& reason, step_report& report);
  int device_slots_needed(const job& j) const;
  void plan_rows(std::vector<job*>& order, std::vector<gpu::forward_request>& requests);
  int prompt_chunk(const job& j, double left, bool first) const;
  void after_forward(std::span<job* const> order, std::span<const gpu::forward_request> requests,
                     step_report& report);
  void finish(job& j, finish_reason reason, step_report& report);
  void sample(job& j, std::span<const float> logits);
  std::span<const float> processed_logits(job& j, std::span<const float> logits,
                                          std::span<const float>& scored);
  static token_chunk take_chunk(job& j);
  void attribute(const gpu::attention_counters& before, std::span<job* const> order,
                 std::span<const gpu::forward_request> requests);

  local_engine& engine_;
  int max_prefill_tokens_;
  prefill_cost cost_;  // what the budget counts
  job_map jobs_;                  // by request id: a stable batch order
  std::deque<uint64_t> waiting_;  // not admitted (or preempted), in admission order
  std::vector<float> logits_;
  step_stats stats_;
  uint64_t preemptions_total_ = 0;
};

}  // namespace alisa::engine
