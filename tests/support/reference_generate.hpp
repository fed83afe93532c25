#pragma once
// reference_generate — the tests' oracle for one sequence's generation: prefill the prompt in one
// step, then decode one token per step until EOS, max_tokens, a stop string or the end of the
// context, with nothing else in the batch. Deliberately the plainest loop possible and separate
// from engine/step_loop, so the loop's batching, chunked prefill, admission and preemption are
// checked against something that has none of them. Not used outside tests.
#include <chrono>
#include <span>
#include <string>
#include <vector>

#include "engine/generation.hpp"
#include "gpu/model_runner.hpp"
#include "gpu/sampler.hpp"
#include "gpu/text_stream.hpp"
#include "model/tokenizer.hpp"
#include "proto/sampling_params.hpp"

namespace alisa::testing {

// `selection` (nullptr = dense) restricts every decode step; `source` (nullptr = a dense cache of
// the model's context) holds the KV instead and must be empty. Resets the runner's counters after
// the prefill, so the figures cover the decode steps only.
inline engine::generation_result reference_generate(
    gpu::model_runner& runner, const model::tokenizer& tok, std::span<const int> prompt_ids,
    const sampling_params& params, gpu::attention_selection* selection = nullptr,
    gpu::kv_source* source = nullptr) {
  using clock_type = std::chrono::steady_clock;
  auto ms_since = [](clock_type::time_point t) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
  };
  engine::generation_result result;
  result.prompt_ids.assign(prompt_ids.begin(), prompt_ids.end());
  auto cache = source ? nullptr : runner.make_cache();
  gpu::sampler pick(params);
  gpu::text_stream text(params, {});
  std::vector<float> logits;
  std::vector<int32_t> step_tokens(prompt_ids.begin(), prompt_ids.end());
  const int eos = tok.eos_id() >= 0 ? tok.eos_id() : runner.config().eos_token_id;
  int previous = prompt_ids.back();
  const auto start = clock_type::now();
  clock_type::time_point decode_start;
  while (static_cast<int>(result.token_ids.size()) < params.max_tokens) {
    const gpu::forward_request request{cache.get(), step_tokens, false, selection, source};
    if (request.length() + static_cast<int>(step_tokens.size()) > request.capacity()) {
      result.reason = engine::finish_reason::context_full;
      break;
    }
    runner.forward({&request, 1}, logits);
    if (result.token_ids.empty() && request.length() == static_cast<int>(prompt_ids.size())) {
      result.prefill_ms = ms_since(start);
      runner.reset_counters();  // what follows is decode
      decode_start = clock_type::now();
    } else {
      ++result.num_decode_steps;
    }
    const int next = pick.sample(logits);
    if (next == eos && !params.ignore_eos) {
      result.reason = engine::finish_reason::eos;
      break;
    }
    result.token_ids.push_back(next);
    if (text.add(tok.token_bytes(previous, next))) {
      result.reason = engine::finish_reason::stop_string;
      break;
    }
    previous = next;
    step_tokens.assign(1, next);
  }
  if (decode_start != clock_type::time_point{}) result.decode_ms = ms_since(decode_start);
  const gpu::attention_counters& c = runner.counters();
  if (result.num_decode_steps > 0) {
    result.kv_tokens_attended_per_step = c.mean_tokens_attended();
    result.kv_bytes_read_per_step = double(c.kv_bytes_read) / result.num_decode_steps;
    result.attention_ms = c.attention_ms;
    result.selection_ms = c.selection_ms;
    result.kv_transfer_ms = c.kv_transfer_ms;
    result.recompute_ms = c.recompute_ms;
    result.tokens_recomputed = c.tokens_recomputed;
  }
  result.text = text.finish();
  return result;
}

}  // namespace alisa::testing
