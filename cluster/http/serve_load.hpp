#pragma once
// serve_load — a serving benchmark against any OpenAI-compatible server (alisa serve, vLLM,
// llama-server), like vLLM's benchmark_serving: N streaming requests sent at a Poisson rate
// (or all at once) with at most C in flight; per request the time to first token, the gaps
// between streamed chunks (inter-token latency, per token) and the end-to-end latency; overall
// requests/s and tokens/s from the servers' own usage counts.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace alisa::cluster {

struct serve_load_options {
  std::string host = "127.0.0.1";
  int port = 8000;
  std::string path = "/v1/completions";  // or /v1/chat/completions
  std::string model;                     // empty: the server's first /v1/models entry
  int num_prompts = 64;
  double request_rate = 0.0;             // requests/s (Poisson arrivals); 0 = all at once
  int max_concurrency = 0;               // 0 = unbounded
  int prompt_words = 64;                 // random prompts of this many words (no prompt file)
  int output_tokens = 64;                // max_tokens, with ignore_eos so every answer has them
  std::vector<std::string> prompts;      // from --prompt-file: one per line, used in turn
  uint64_t seed = 0;
  int timeout_s = 600;
};

// Parses http://HOST:PORT[/...] into host and port; false with `error` when it cannot.
bool parse_base_url(const std::string& url, serve_load_options& o, std::string& error);

// Runs the benchmark; the result object has the counts, the latency percentiles (ms) and the
// throughputs. Requests that fail are counted and their first error kept.
nlohmann::json run_serve_load(const serve_load_options& options);

}  // namespace alisa::cluster
