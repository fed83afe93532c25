#include "cluster/run_command.hpp"

#include <unistd.h>

#include <cstdio>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <string_view>

#include <nlohmann/json.hpp>

#include "actors/embedded_runtime.hpp"
#include "cluster/cli_errors.hpp"
#include "cluster/engine_flags.hpp"
#include "cluster/log.hpp"
#include "cluster/job_json.hpp"
#include "cluster/tier_json.hpp"
#include "engine/peak_rss.hpp"

namespace alisa::cluster {
namespace {

struct run_flags {
  engine_flags engine;
  sampling_params sampling;
  std::string prompt;
  bool json = false;
};

// The attention and KV options the run used, so a JSON line is self-describing.
void add_attention_fields(const engine::engine_options& o, nlohmann::json& out) {
  out["attention"] = scheduler::to_string(o.attention.policy);
  out["kv_sparsity"] = o.attention.sparsity;
  out["kv_dtype"] = to_string(o.kv_type);
}

// The whole --json object. The engine is idle (its one job ended), so its tier report is final.
nlohmann::json json_report(const engine::local_engine& engine, const actors::job_outcome& o) {
  auto out = job_json(o);
  out["model"] = engine.options().model;
  out["synthetic_weights"] = engine.synthetic();
  add_attention_fields(engine.options(), out);
  out["max_prefill_tokens"] = engine.options().max_prefill_tokens;
  out["peak_rss_bytes"] = engine::peak_rss_bytes();
  const job_finished& f = o.finished;
  if (const auto* store = engine.tier_store())
    out["kv_tiers"] =
        tier_report_json(*store, store->report(), f.decode_ms, f.kv_transfer_ms, f.recompute_ms);
  return out;
}

// The human run's last line, on stderr so stdout holds only the prompt and its continuation.
void print_summary(const actors::job_outcome& o) {
  const job_finished& f = o.finished;
  std::fprintf(stderr,
               "alisa: %d prompt tokens in %.1f ms, %zu generated (%s), decode %.1f tok/s, "
               "%.1f KV tokens attended per layer\n",
               f.num_prompt_tokens, f.prefill_ms, o.token_ids.size(), f.finish_reason.c_str(),
               decode_tokens_per_s(f), f.kv_tokens_attended_per_step);
}

int run_checked(run_flags& flags);

// Streams the text to stdout; on a terminal, a long prompt's prefill progress (chunked prefill
// reports it between steps) shows on stderr first, erased when the text starts.
std::function<bool(const token_chunk&)> prefill_progress_then_text(size_t prompt_tokens) {
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  auto shown = std::make_shared<bool>(false);
  return [=](const token_chunk& c) {
    if (c.prompt_tokens_done > 0 && terminal) {
      std::fprintf(stderr, "\ralisa: prefill %d / %zu tokens", c.prompt_tokens_done, prompt_tokens);
      *shown = true;
    }
    if (c.text.empty()) return true;
    if (*shown) std::fprintf(stderr, "\r\033[K");
    *shown = false;
    std::cout << c.text << std::flush;
    return true;
  };
}

// A fault during generation (e.g. a device KV pool too small for --policy vllm) is reported, not
// a crash.
int run(run_flags& flags) { return run_reporting_errors([&] { return run_checked(flags); }); }

// One job through the embedded actor runtime (coordinator, worker and this thread's client in one
// actor system), as a served job would run; the human run streams its text as it arrives.
int run_checked(run_flags& flags) {
  if (auto err = finish_engine_flags(flags.engine)) return fail(*err);
  if (auto err = validate(flags.sampling)) return fail(*err);
  if (!flags.json) log_loading(flags.engine.options.model);
  const auto load_start = std::chrono::steady_clock::now();
  auto engine = engine::local_engine::open(flags.engine.options);
  if (!engine.ok()) return fail(engine.status());
  auto prompt = (*engine)->encode_prompt(flags.prompt);
  if (!prompt.ok()) return fail(prompt.status());
  if (!flags.json) log_model(**engine, seconds_since(load_start));
  scheduler::batching_options batching;
  const int prefill = (*engine)->options().max_prefill_tokens;
  batching.max_prefill_tokens = prefill > 0 ? prefill : std::numeric_limits<int>::max();
  actors::embedded_runtime runtime(std::move(*engine), batching);
  submit_job job;
  job.id = request_id{1};
  job.prompt_ids.assign(prompt->begin(), prompt->end());
  job.sampling = flags.sampling;
  actors::job_watch watch;
  if (!flags.json) {
    std::cout << flags.prompt << std::flush;
    watch.on_chunk = prefill_progress_then_text(job.prompt_ids.size());
  }
  const actors::job_outcome outcome =
      actors::submit_and_watch(runtime.system(), runtime.coordinator(), job, watch);
  if (!outcome.error.empty()) return fail(outcome.error);
  if (flags.json) {
    std::cout << json_report(runtime.engine(), outcome).dump() << std::endl;
    return 0;
  }
  std::cout << std::endl;
  print_summary(outcome);
  return 0;
}

}  // namespace

void add_run_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<run_flags>();
  CLI::App* cmd = app.add_subcommand("run", "generate a continuation of a prompt in this process");
  add_engine_flags(*cmd, flags->engine);
  add_sampling_flags(*cmd, flags->sampling);
  cmd->add_option("--prompt,-p", flags->prompt, "the prompt text (empty = start from BOS)");
  cmd->add_flag("--json", flags->json,
                "print one JSON object (text, token_ids, num_prompt_tokens, num_generated_tokens, "
                "finish_reason, prefill_ms, decode_ms, decode_tokens_per_s, "
                "kv_tokens_attended_per_step, kv_bytes_read_per_step, attention_ms, selection_ms, "
                "model, synthetic_weights, attention, kv_sparsity, kv_dtype, max_prefill_tokens, "
                "peak_rss_bytes, kv_tiers when tiered, tokens_recomputed) instead of streaming text");
  cmd->callback([flags, &exit_code] { exit_code = run(*flags); });
}

}  // namespace alisa::cluster
