#include "cluster/job_json.hpp"

namespace alisa::cluster {

double decode_tokens_per_s(const job_finished& f) {
  return f.decode_ms > 0 ? f.num_decode_steps / (f.decode_ms / 1000.0) : 0.0;
}

namespace {

uint64_t total(const std::vector<uint64_t>& values) {
  uint64_t sum = 0;
  for (uint64_t v : values) sum += v;
  return sum;
}

}  // namespace

nlohmann::json job_json(const actors::job_outcome& outcome) {
  const auto& f = outcome.finished;
  return {{"text", outcome.text},
          {"token_ids", outcome.token_ids},
          {"num_prompt_tokens", f.num_prompt_tokens},
          {"cached_tokens", f.cached_tokens},
          {"num_generated_tokens", outcome.token_ids.size()},
          {"finish_reason", f.finish_reason},
          {"prefill_ms", f.prefill_ms},
          {"decode_ms", f.decode_ms},
          {"decode_tokens_per_s", decode_tokens_per_s(f)},
          {"kv_tokens_attended_per_step", f.kv_tokens_attended_per_step},
          {"kv_bytes_read_per_step", f.kv_bytes_read_per_step},
          {"attention_ms", f.attention_ms},
          {"selection_ms", f.selection_ms},
          {"tokens_recomputed", f.tokens_recomputed},
          {"memory_node_peak_bytes", f.memory_node_peak_bytes},
          {"memory_nodes_peak_bytes", total(f.memory_node_peak_bytes)}};
}

}  // namespace alisa::cluster
