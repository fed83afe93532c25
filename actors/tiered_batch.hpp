#pragma once
// tiered_batch — the decode benchmark's batch loop when KV goes through the tiered store: every
// sequence prefills its prompt and decodes gen_len tokens (greedy, EOS ignored); finished
// sequences free their KV at once (so the others are re-planned onto the freed space). Under
// --policy vllm a paged admission decides before every step who runs: the latest admitted are
// preempted when the device pool is short and later recomputed from their tokens.
#include <cstdint>
#include <vector>

#include "actors/local_engine.hpp"
#include "gpu/model_runner.hpp"

namespace alisa::actors {

struct decode_bench_options;

struct tiered_batch_timing {
  double prompt_tokens_per_s = 0.0;   // the first prefill step (every admitted prompt)
  double decode_tokens_per_s = 0.0;   // tokens generated after it / its wall time
  double throughput_tokens_per_s = 0.0;  // all generated tokens / the whole run (prefill included)
  gpu::attention_counters counters;   // every step after the first prefill
  int num_preemptions = 0;
  int64_t tokens_reprefilled = 0;     // prompt + generated tokens recomputed after preemption
};

// Precondition: engine.tier_store() != nullptr; prompts.size() == options.batch.
tiered_batch_timing run_tiered_batch(local_engine& engine, const decode_bench_options& options,
                                     const std::vector<std::vector<int32_t>>& prompts);

}  // namespace alisa::actors
