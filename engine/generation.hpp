#pragma once
// generation — what one job's generation produced, as the step loop reports it to callers that
// want a single blocking result (local_engine::generate, tests' references, tools).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace alisa::engine {

enum class finish_reason { eos, length, stop_string, context_full };
// "eos", "length", "stop", "context_full": the strings job_finished::finish_reason carries.
std::string_view to_string(finish_reason r);

struct generation_result {
  std::vector<int> prompt_ids;
  std::vector<int> token_ids;  // generated ids (EOS not included)
  std::string text;            // decoded continuation, cut before a matched stop string
  finish_reason reason = finish_reason::length;
  double prefill_ms = 0.0;
  double decode_ms = 0.0;      // wall time of every step after the first sampled token
  int num_decode_steps = 0;    // forward passes timed in decode_ms
  // Over the decode steps: tokens one query head attended per layer (mean), and K/V bytes the
  // attention read per step, all layers (see gpu::attention_counters).
  double kv_tokens_attended_per_step = 0.0;
  double kv_bytes_read_per_step = 0.0;
  double attention_ms = 0.0;   // decode steps only
  double selection_ms = 0.0;   // decode steps only
  // Tiered KV only, decode steps: moving rows between tiers and recomputing them.
  double kv_transfer_ms = 0.0;
  double recompute_ms = 0.0;
  int64_t tokens_recomputed = 0;
};

}  // namespace alisa::engine
