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
};

// Returns an error message naming the bad field, or nullopt when the params are usable.
inline std::optional<std::string> validate(const sampling_params& p) {
  if (!(p.temperature >= 0.0f) || p.temperature > 100.0f)
    return "--temperature must be in [0, 100], got " + std::to_string(p.temperature);
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f))
    return "--top-p must be in (0, 1], got " + std::to_string(p.top_p);
  if (p.top_k < 0) return "--top-k must be >= 0 (0 = off), got " + std::to_string(p.top_k);
  if (p.max_tokens < 0) return "--max-tokens must be >= 0, got " + std::to_string(p.max_tokens);
  for (const auto& s : p.stop)
    if (s.empty()) return "--stop must not be an empty string";
  return std::nullopt;
}

}  // namespace alisa
