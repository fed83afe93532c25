#pragma once
// generate — the single-sequence generation loop: prefill the prompt, then decode one token per
// step until EOS, max_tokens, a stop string, or the end of the context.
// Text is streamed to on_text as it becomes final: complete UTF-8 only, and never a piece that
// might still turn out to be the start of a stop string.
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gpu/model_runner.hpp"
#include "gpu/text_stream.hpp"
#include "model/tokenizer.hpp"
#include "proto/sampling_params.hpp"

namespace alisa::gpu {

enum class finish_reason { eos, length, stop_string, context_full };
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
  // attention read per step, all layers (see attention_counters).
  double kv_tokens_attended_per_step = 0.0;
  double kv_bytes_read_per_step = 0.0;
  double attention_ms = 0.0;   // decode steps only
  double selection_ms = 0.0;   // decode steps only
  // Tiered KV (kv_source) only, decode steps: moving rows between tiers and recomputing them.
  double kv_transfer_ms = 0.0;
  double recompute_ms = 0.0;
  int64_t tokens_recomputed = 0;
};


// `selection` (nullptr = dense) restricts every decode step's attention; the prefill is dense.
// `source` (nullptr = a dense cache of the model's context) holds the sequence's KV instead: the
// tiered store; it must be empty.
// Preconditions: prompt_ids non-empty and shorter than the context; params validated.
generation_result generate(model_runner& runner, const model::tokenizer& tok,
                           std::span<const int> prompt_ids, const sampling_params& params,
                           const text_callback& on_text = {},
                           attention_selection* selection = nullptr, kv_source* source = nullptr);

}  // namespace alisa::gpu
