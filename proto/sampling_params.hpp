#pragma once
// sampling_params — how a generation job picks each next token and when it stops.
// Plain data, validated once by validate() at the edge (command line, later the coordinator);
// everything below trusts a validated value.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace alisa {

struct sampling_params {
  float temperature = 0.0f;  // 0 = greedy (argmax); > 0 divides the logits before softmax
  float top_p = 1.0f;        // nucleus: keep the smallest prefix of sorted tokens with mass >= top_p
  int top_k = 0;             // 0 = off; otherwise keep the k most likely tokens
  uint64_t seed = 0;         // the same seed, prompt and model give the same tokens
  int max_tokens = 128;      // upper bound on generated tokens (EOS and stop strings end earlier)
  std::vector<std::string> stop;  // generation ends once the text contains any of these
  bool ignore_eos = false;        // benchmarks generate a fixed length whatever the model says
  // Logit processing before the pick (gpu/logit_processing.hpp), as vLLM and OpenAI define it:
  float min_p = 0.0f;               // drop tokens below min_p x the top token's probability
  float presence_penalty = 0.0f;    // subtracted once from every token already generated
  float frequency_penalty = 0.0f;   // subtracted per occurrence in the generated tokens
  float repetition_penalty = 1.0f;  // > 1 discourages prompt and generated tokens (CTRL's rule)
  // Per sampled token: its log-probability and those of the top_logprobs most likely tokens,
  // under the processed logits before temperature (token_chunk::logprobs).
  bool logprobs = false;
  int top_logprobs = 0;
};

// Whether any logit processing is asked for (else the logits are used as the model gave them).
inline bool processes_logits(const sampling_params& p) {
  return p.min_p > 0.0f || p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f ||
         p.repetition_penalty != 1.0f;
}

// Returns an error message naming the bad field, or nullopt when the params are usable.
inline std::optional<std::string> validate(const sampling_params& p) {
  if (!(p.temperature >= 0.0f) || p.temperature > 100.0f)
    return "--temperature must be in [0, 100], got " + std::to_string(p.temperature);
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f))
    return "--top-p must be in (0, 1], got " + std::to_string(p.top_p);
  if (p.top_k < 0) return "--top-k must be >= 0 (0 = off), got " + std::to_string(p.top_k);
  if (p.max_tokens < 0) return "--max-tokens must be >= 0, got " + std::to_string(p.max_tokens);
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f))
    return "--min-p must be in [0, 1], got " + std::to_string(p.min_p);
  if (!(p.presence_penalty >= -2.0f && p.presence_penalty <= 2.0f))
    return "presence_penalty must be in [-2, 2], got " + std::to_string(p.presence_penalty);
  if (!(p.frequency_penalty >= -2.0f && p.frequency_penalty <= 2.0f))
    return "frequency_penalty must be in [-2, 2], got " + std::to_string(p.frequency_penalty);
  if (!(p.repetition_penalty > 0.0f && p.repetition_penalty <= 10.0f))
    return "--repetition-penalty must be in (0, 10], got " + std::to_string(p.repetition_penalty);
  if (p.top_logprobs < 0 || p.top_logprobs > 20)
    return "top_logprobs must be in [0, 20], got " + std::to_string(p.top_logprobs);
  for (const auto& s : p.stop)
    if (s.empty()) return "--stop must not be an empty string";
  return std::nullopt;
}

}  // namespace alisa
