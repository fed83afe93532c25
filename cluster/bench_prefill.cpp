#include "cluster/bench_prefill.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cluster/cli_errors.hpp"
#include "cluster/engine_flags.hpp"
#include "engine/decode_benchmark.hpp"
#include "engine/prefill_interference.hpp"

namespace alisa::cluster {
namespace {

struct prefill_flags {
  engine_flags engine;
  engine::interference_options bench;
  std::vector<int> budgets{0, 2048, 256, 32};
  bool json = false;
};

std::optional<std::string> check(const prefill_flags& f, int context) {
  const auto& o = f.bench;
  if (o.decoders < 1) return "--decoders must be >= 1";
  if (o.decoder_prompt_len < 1) return "--decoder-prompt-len must be >= 1";
  if (o.long_prompt_len < 1) return "--long-prompt-len must be >= 1";
  if (o.baseline_steps < 1) return "--baseline-steps must be >= 1";
  for (int b : f.budgets)
    if (b < 0) return "--budgets must be >= 0 (0 = whole prompt); got " + std::to_string(b);
  // The decoders keep decoding through the long prompt's chunks.
  const int64_t worst = int64_t(o.decoder_prompt_len) + o.baseline_steps + o.long_prompt_len + 2;
  if (o.long_prompt_len >= context || worst > context)
    return "--long-prompt-len " + std::to_string(o.long_prompt_len) + " (with the decoders' " +
           std::to_string(o.decoder_prompt_len + o.baseline_steps) +
           " tokens and one per chunk) does not fit the model's context of " +
           std::to_string(context) + " (synthetic models accept --context)";
  return std::nullopt;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5))];
}

nlohmann::json to_json(const engine::interference_result& r) {
  const double alone = engine::summarize(r.itl_alone_ms).median;
  const double during = engine::summarize(r.itl_during_ms).median;
  return {{"max_prefill_tokens", r.max_prefill_tokens},
          {"itl_alone_ms_median", alone},
          {"itl_during_ms_median", during},
          {"itl_during_ms_p90", percentile(r.itl_during_ms, 0.9)},
          {"itl_during_ms_max", percentile(r.itl_during_ms, 1.0)},
          {"itl_ratio_median", alone > 0 ? during / alone : 0.0},
          {"prefill_steps", r.itl_during_ms.size()},
          {"long_ttft_ms", r.long_ttft_ms}};
}

int bench_prefill(prefill_flags& flags) {
  if (auto err = finish_engine_flags(flags.engine)) return fail(*err);
  auto engine = engine::local_engine::open(flags.engine.options);
  if (!engine.ok()) return fail(engine.status());
  if (auto err = check(flags, (*engine)->config().max_position_embeddings)) return fail(*err);
  nlohmann::json runs = nlohmann::json::array();
  for (int budget : flags.budgets) {
    try {
      runs.push_back(to_json(engine::run_prefill_interference(**engine, flags.bench, budget)));
    } catch (const std::exception& e) {
      return fail("--max-prefill-tokens " + std::to_string(budget) + ": " + e.what());
    }
    const auto& j = runs.back();
    if (!flags.json)
      std::printf("max-prefill-tokens %6d: ITL alone %.2f ms, during %.2f ms median (p90 %.2f, "
                  "max %.2f) = %.2fx; %d steps, long prompt TTFT %.0f ms\n",
                  budget, j["itl_alone_ms_median"].get<double>(),
                  j["itl_during_ms_median"].get<double>(), j["itl_during_ms_p90"].get<double>(),
                  j["itl_during_ms_max"].get<double>(), j["itl_ratio_median"].get<double>(),
                  j["prefill_steps"].get<int>(), j["long_ttft_ms"].get<double>());
  }
  if (flags.json)
    std::cout << nlohmann::json{{"model", flags.engine.options.model},
                                {"decoders", flags.bench.decoders},
                                {"decoder_prompt_len", flags.bench.decoder_prompt_len},
                                {"long_prompt_len", flags.bench.long_prompt_len},
                                {"runs", runs}}
                     .dump()
              << std::endl;
  return 0;
}

}  // namespace

void add_bench_prefill_command(CLI::App& bench, int& exit_code) {
  auto flags = std::make_shared<prefill_flags>();
  CLI::App* cmd = bench.add_subcommand(
      "prefill", "inter-token latency of decoding jobs while a long prompt prefills, per "
                 "--max-prefill-tokens budget (chunked prefill)");
  add_engine_flags(*cmd, flags->engine);
  auto& o = flags->bench;
  cmd->add_option("--decoders", o.decoders, "short jobs decoding throughout")->capture_default_str();
  cmd->add_option("--decoder-prompt-len", o.decoder_prompt_len, "their prompt tokens")
      ->capture_default_str();
  cmd->add_option("--long-prompt-len", o.long_prompt_len, "tokens of the prompt that joins")
      ->capture_default_str();
  cmd->add_option("--baseline-steps", o.baseline_steps, "decode steps timed before it joins")
      ->capture_default_str();
  cmd->add_option("--budgets", flags->budgets,
                  "prefill budgets to compare, e.g. 0,2048,256,32 (0 = whole prompt in one step)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_flag("--json", flags->json, "print one JSON object");
  cmd->callback([flags, &exit_code] { exit_code = run_reporting_errors([&] {
    return bench_prefill(*flags);
  }); });
}

}  // namespace alisa::cluster
