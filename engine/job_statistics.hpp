#pragma once
// job_statistics — a job's share of the runner's attention counters over its decode steps, as the
// step loop splits each shared step between its jobs (engine/step_loop.hpp explains the split).
#include "gpu/model_runner.hpp"
#include "proto/messages.hpp"

namespace alisa::engine {

// The runner's counters over one step. Doubles: a step's counts are split between jobs.
struct counter_delta {
  double row_layers = 0, tokens_attended = 0, kv_bytes_read = 0;
  double attention_ms = 0, selection_ms = 0, kv_transfer_ms = 0, recompute_ms = 0;
  double tokens_recomputed = 0;
};

// after - before.
counter_delta difference(const gpu::attention_counters& after, const gpu::attention_counters& before);

// A job's share of its decode steps' counters, summed.
struct decode_totals {
  int num_steps = 0;
  counter_delta sum;

  // Adds a step's delta: `decode_share` of its decode-row counters, `row_share` of the rest.
  void add(const counter_delta& d, double decode_share, double row_share);
  // The per-step figures (mean tokens attended per (row, layer), bytes read per step, totals).
  void report(job_finished& f) const;
};

}  // namespace alisa::engine
