#include "cluster/bench_serve.hpp"

#include <cstdio>
#include <fstream>
#include <optional>
#include <iostream>
#include <memory>

#include "cluster/cli_errors.hpp"
#include "cluster/http/serve_load.hpp"

namespace alisa::cluster {
namespace {

struct bench_serve_flags {
  serve_load_options load;
  std::string url = "http://127.0.0.1:8000";
  std::string endpoint = "completions";
  std::string prompt_file;
  bool json = false;
};

std::optional<std::string> finish(bench_serve_flags& f) {
  std::string error;
  if (!parse_base_url(f.url, f.load, error)) return error;
  f.load.path = f.endpoint == "chat" ? "/v1/chat/completions" : "/v1/completions";
  auto& o = f.load;
  if (o.num_prompts < 1 || o.num_prompts > 100000) return "--num-prompts must be in [1, 100000]";
  if (o.request_rate < 0) return "--request-rate must be >= 0 (0 = all at once)";
  if (o.max_concurrency < 0 || o.max_concurrency > 4096)
    return "--max-concurrency must be in [0, 4096] (0 = unbounded)";
  if (o.max_concurrency == 0 && o.num_prompts > 4096)
    return "more than 4096 prompts need a --max-concurrency";
  if (o.prompt_words < 1) return "--prompt-len must be >= 1";
  if (o.output_tokens < 1) return "--output-len must be >= 1";
  if (!f.prompt_file.empty()) {
    std::ifstream in(f.prompt_file);
    if (!in) return "cannot read --prompt-file " + f.prompt_file;
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) o.prompts.push_back(line);
    if (o.prompts.empty()) return "--prompt-file " + f.prompt_file + " has no prompts";
  }
  return std::nullopt;
}

void print_human(const nlohmann::json& r) {
  auto line = [&](const char* name, const nlohmann::json& p) {
    if (p.is_null()) return;
    std::printf("%-22s mean %8.1f  p50 %8.1f  p90 %8.1f  p99 %8.1f ms\n", name,
                p["mean"].get<double>(), p["p50"].get<double>(), p["p90"].get<double>(),
                p["p99"].get<double>());
  };
  std::printf("%s: %d of %d requests in %.2f s, %.2f req/s, %.1f output tok/s, %.1f total tok/s\n",
              r["url"].get<std::string>().c_str(), r["completed"].get<int>(),
              r["num_prompts"].get<int>(), r["duration_s"].get<double>(),
              r["requests_per_s"].get<double>(), r["output_tokens_per_s"].get<double>(),
              r["total_tokens_per_s"].get<double>());
  line("time to first token", r["ttft_ms"]);
  line("inter-token latency", r["itl_ms"]);
  line("end-to-end latency", r["e2e_ms"]);
  if (r.contains("first_error"))
    std::printf("first error: %s\n", r["first_error"].get<std::string>().c_str());
}

int bench_serve(bench_serve_flags& f) {
  if (auto err = finish(f)) return fail(*err);
  const nlohmann::json result = run_serve_load(f.load);
  if (f.json)
    std::cout << result.dump() << std::endl;
  else
    print_human(result);
  return result["completed"].get<int>() == 0 ? 1 : 0;
}

}  // namespace

void add_bench_serve_command(CLI::App& bench, int& exit_code) {
  auto f = std::make_shared<bench_serve_flags>();
  CLI::App* cmd = bench.add_subcommand(
      "serve", "serving benchmark against an OpenAI-compatible URL: TTFT, inter-token and "
               "end-to-end latency percentiles, requests/s, tokens/s (like vLLM's benchmark_serving)");
  auto& o = f->load;
  cmd->add_option("--url", f->url, "the server's base URL, http://HOST:PORT")->capture_default_str();
  cmd->add_option("--endpoint", f->endpoint, "completions or chat")
      ->check(CLI::IsMember({"completions", "chat"}))
      ->capture_default_str();
  cmd->add_option("--model", o.model, "model id to send (default: the server's first)");
  cmd->add_option("--num-prompts", o.num_prompts, "requests to send")->capture_default_str();
  cmd->add_option("--request-rate", o.request_rate,
                  "requests per second, Poisson arrivals (0 = all at once)")
      ->capture_default_str();
  cmd->add_option("--max-concurrency", o.max_concurrency, "requests in flight at most (0 = unbounded)")
      ->capture_default_str();
  cmd->add_option("--prompt-len", o.prompt_words, "words per random prompt")->capture_default_str();
  cmd->add_option("--output-len", o.output_tokens, "tokens per answer (max_tokens, ignore_eos)")
      ->capture_default_str();
  cmd->add_option("--prompt-file", f->prompt_file, "prompts, one per line (used in turn)");
  cmd->add_option("--seed", o.seed, "seed of the random prompts and arrivals")->capture_default_str();
  cmd->add_option("--timeout", o.timeout_s, "seconds one request may take")->capture_default_str();
  cmd->add_flag("--json", f->json,
                "print one JSON object: completed, failed, duration_s, requests_per_s, "
                "output_tokens_per_s, total_tokens_per_s, ttft_ms/itl_ms/e2e_ms {mean,p50,p90,p99,max}");
  cmd->callback([f, &exit_code] { exit_code = run_reporting_errors([&] { return bench_serve(*f); }); });
}

}  // namespace alisa::cluster
