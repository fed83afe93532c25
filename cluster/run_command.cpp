#include "cluster/run_command.hpp"

#include <cstdio>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cluster/cli_errors.hpp"
#include "cluster/engine_flags.hpp"
#include "cluster/tier_json.hpp"

namespace alisa::cluster {
namespace {

struct run_flags {
  engine_flags engine;
  sampling_params sampling;
  std::string prompt;
  bool json = false;
};

nlohmann::json to_json(const gpu::generation_result& r) {
  const double decode_tps = r.decode_ms > 0 ? r.num_decode_steps / (r.decode_ms / 1000.0) : 0.0;
  return {{"text", r.text},
          {"token_ids", r.token_ids},
          {"num_prompt_tokens", r.prompt_ids.size()},
          {"num_generated_tokens", r.token_ids.size()},
          {"finish_reason", gpu::to_string(r.reason)},
          {"prefill_ms", r.prefill_ms},
          {"decode_ms", r.decode_ms},
          {"decode_tokens_per_s", decode_tps},
          {"kv_tokens_attended_per_step", r.kv_tokens_attended_per_step},
          {"kv_bytes_read_per_step", r.kv_bytes_read_per_step},
          {"attention_ms", r.attention_ms},
          {"selection_ms", r.selection_ms}};
}

// The attention and KV options the run used, so a JSON line is self-describing.
void add_attention_fields(const actors::engine_options& o, nlohmann::json& out) {
  out["attention"] = scheduler::to_string(o.attention.policy);
  out["kv_sparsity"] = o.attention.sparsity;
  out["kv_dtype"] = to_string(o.kv_type);
}

int run_checked(run_flags& flags);

// A fault during generation (e.g. a device KV pool too small for --policy vllm) is reported, not
// a crash.
int run(run_flags& flags) {
  try {
    return run_checked(flags);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

int run_checked(run_flags& flags) {
  if (auto err = finish_engine_flags(flags.engine)) return fail(*err);
  if (auto err = validate(flags.sampling)) return fail(*err);
  auto engine = actors::local_engine::open(flags.engine.options);
  if (!engine.ok()) return fail(engine.status());
  auto prompt = (*engine)->encode_prompt(flags.prompt);
  if (!prompt.ok()) return fail(prompt.status());
  if (flags.json) {
    auto result = (*engine)->generate(*prompt, flags.sampling);
    auto out = to_json(result);
    out["model"] = (*engine)->options().model;
    out["synthetic_weights"] = (*engine)->synthetic();
    add_attention_fields((*engine)->options(), out);
    if (auto* store = (*engine)->tier_store())
      out["kv_tiers"] = tier_report_json(*store, store->report(), result.decode_ms,
                                         result.kv_transfer_ms, result.recompute_ms);
    out["tokens_recomputed"] = result.tokens_recomputed;
    std::cout << out.dump() << std::endl;
    return 0;
  }
  std::cerr << "alisa: " << (*engine)->describe() << "\n";
  std::cout << flags.prompt << std::flush;
  auto result = (*engine)->generate(*prompt, flags.sampling, [](std::string_view piece) {
    std::cout << piece << std::flush;
  });
  std::cout << std::endl;
  const double tps = result.decode_ms > 0 ? result.num_decode_steps / (result.decode_ms / 1e3) : 0;
  std::fprintf(stderr,
               "alisa: %zu prompt tokens in %.1f ms, %zu generated (%s), decode %.1f tok/s, "
               "%.1f KV tokens attended per layer\n",
               result.prompt_ids.size(), result.prefill_ms, result.token_ids.size(),
               std::string(gpu::to_string(result.reason)).c_str(), tps,
               result.kv_tokens_attended_per_step);
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
                "prefill_ms, decode_ms, decode_tokens_per_s, kv_tokens_attended_per_step, "
                "kv_bytes_read_per_step, attention, kv_sparsity, kv_dtype) instead of streaming "
                "text");
  cmd->callback([flags, &exit_code] { exit_code = run(*flags); });
}

}  // namespace alisa::cluster
