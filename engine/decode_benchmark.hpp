#pragma once
// decode_benchmark — llama-bench-style throughput of one engine: a batch of B sequences with
// random S-token prompts is prefilled together, then decoded for N steps (greedy, EOS ignored).
// Prompt and decode tokens/s are reported per repetition (caller takes mean ± stddev), next to the
// bytes of weights each decode step reads and the memory read bandwidth measured in the same run.
#include <cstdint>
#include <optional>
#include <vector>

#include "engine/local_engine.hpp"
#include "engine/tiered_kv_store.hpp"

namespace alisa::engine {

struct decode_bench_options {
  int batch = 1;
  int prompt_len = 128;
  int gen_len = 128;
  int repetitions = 3;
  int warmup = 1;  // untimed repetitions first (page faults, caches, thread start-up)
  uint64_t seed = 1;
  size_t bandwidth_probe_bytes = size_t{512} << 20;
};

struct decode_bench_result {
  std::vector<double> prompt_tokens_per_s;  // one per timed repetition
  std::vector<double> decode_tokens_per_s;
  size_t weight_bytes_per_step = 0;
  double kv_bytes_per_step = 0.0;  // K/V bytes the attention read per decode step (whole batch)
  double kv_tokens_attended_per_step = 0.0;  // per layer and query head, mean over decode rows
  std::vector<double> attention_ms_per_step;  // one per timed repetition
  std::vector<double> selection_ms_per_step;  // selection bookkeeping (swa/h2o scoring, top-k)
  double measured_read_bandwidth_gbs = 0.0;  // median of probes between the repetitions
  // Tiered store only (engine.tier_store() != nullptr), one entry per timed repetition:
  std::vector<double> throughput_tokens_per_s;  // generated tokens / whole run, prefill included
  std::vector<double> kv_transfer_ms_per_step;  // gathering/writing rows through the tiers
  std::vector<double> recompute_ms_per_step;
  int num_preemptions = 0;          // vllm policy, last repetition
  int64_t tokens_reprefilled = 0;   // vllm policy, last repetition
  std::optional<tier_report> tiers;  // the last repetition's tier counters and phase log
};

// Precondition: options validated (positive sizes, prompt_len + gen_len <= context).
decode_bench_result run_decode_benchmark(local_engine& engine, const decode_bench_options& options);

struct summary {
  double mean = 0.0;
  double stddev = 0.0;
  double median = 0.0;
};
summary summarize(const std::vector<double>& values);

}  // namespace alisa::engine
