#include "gpu/generate.hpp"

#include <algorithm>
#include <chrono>

#include "gpu/sampler.hpp"
#include "gpu/text_stream.hpp"

namespace alisa::gpu {
namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point start) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

// Decode-phase attention figures from the runner's counters (reset after the prefill).
void record_attention(const attention_counters& c, generation_result& result) {
  if (result.num_decode_steps == 0) return;
  result.kv_tokens_attended_per_step = c.mean_tokens_attended();
  result.kv_bytes_read_per_step = double(c.kv_bytes_read) / result.num_decode_steps;
  result.attention_ms = c.attention_ms;
  result.selection_ms = c.selection_ms;
  result.kv_transfer_ms = c.kv_transfer_ms;
  result.recompute_ms = c.recompute_ms;
  result.tokens_recomputed = c.tokens_recomputed;
}

}  // namespace

std::string_view to_string(finish_reason r) {
  switch (r) {
    case finish_reason::eos: return "eos";
    case finish_reason::length: return "length";
    case finish_reason::stop_string: return "stop";
    case finish_reason::context_full: return "context_full";
  }
  return "?";
}

generation_result generate(model_runner& runner, const model::tokenizer& tok,
                           std::span<const int> prompt_ids, const sampling_params& params,
                           const text_callback& on_text, attention_selection* selection,
                           kv_source* source) {
  generation_result result;
  result.prompt_ids.assign(prompt_ids.begin(), prompt_ids.end());
  auto cache = source ? nullptr : runner.make_cache();
  sampler pick(params);
  text_stream text(params, on_text);
  std::vector<float> logits;
  std::vector<int32_t> step_tokens(prompt_ids.begin(), prompt_ids.end());
  const int eos = tok.eos_id() >= 0 ? tok.eos_id() : runner.config().eos_token_id;
  int previous = prompt_ids.back();

  auto start = clock_type::now();
  clock_type::time_point decode_start;
  while (static_cast<int>(result.token_ids.size()) < params.max_tokens) {
    const forward_request request{cache.get(), step_tokens, false, selection, source};
    if (request.length() + static_cast<int>(step_tokens.size()) > request.capacity()) {
      result.reason = finish_reason::context_full;
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
      result.reason = finish_reason::eos;
      break;
    }
    result.token_ids.push_back(next);
    if (text.add(tok.token_bytes(previous, next))) {
      result.reason = finish_reason::stop_string;
      break;
    }
    previous = next;
    step_tokens.assign(1, next);
  }
  if (decode_start != clock_type::time_point{}) result.decode_ms = ms_since(decode_start);
  record_attention(runner.counters(), result);
  result.text = text.finish();
  return result;
}

}  // namespace alisa::gpu
