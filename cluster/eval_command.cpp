#include "cluster/eval_command.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "engine/perplexity.hpp"
#include "cluster/cli_errors.hpp"
#include "cluster/log.hpp"
#include "cluster/engine_flags.hpp"

namespace alisa::cluster {
namespace {

struct ppl_flags {
  engine_flags engine;
  engine::perplexity_options eval;
  std::string text_path;
  bool json = false;
};

// The whole file as bytes; the message names the flag, the path and why it cannot be read.
absl::StatusOr<std::string> read_text_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return absl::InvalidArgumentError("--text " + path + " is a directory, not a text file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot read --text file " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::DataLossError("error while reading --text file " + path);
  return text.str();
}

// Checks that need no model; the model's context bounds --ctx from above in evaluate_perplexity.
std::optional<std::string> check(const engine::perplexity_options& o) {
  if (o.context < 4) return "--ctx must be >= 4 tokens per chunk; got " + std::to_string(o.context);
  if (o.max_chunks < 0) return "--chunks must be >= 0 (0 = all); got " + std::to_string(o.max_chunks);
  if (o.batch < 1 || o.batch > 4096)
    return "--batch must be 1 to 4096 sequences; got " + std::to_string(o.batch);
  return std::nullopt;
}

// "swa S=0.8" / "dense": the attention part of the human summary line.
std::string describe_attention(const scheduler::selection_options& a) {
  std::string s(scheduler::to_string(a.policy));
  if (a.policy == scheduler::attention_policy::dense) return s;
  char buf[32];
  std::snprintf(buf, sizeof buf, " S=%g", a.sparsity);
  return s + buf;
}

nlohmann::json to_json(engine::local_engine& engine, const ppl_flags& flags,
                       const engine::perplexity_result& r) {
  const auto& o = engine.options();
  return {{"ppl", r.ppl},
          {"stderr", r.stderr_ppl},
          {"mean_nll", r.mean_nll},
          {"num_chunks", r.num_chunks},
          {"num_tokens_scored", r.num_tokens_scored},
          {"num_text_tokens", r.num_text_tokens},
          {"ctx", flags.eval.context},
          {"batch", flags.eval.batch},
          {"attention", std::string(scheduler::to_string(o.attention.policy))},
          {"kv_sparsity", o.attention.sparsity},
          {"swa_window", o.attention.window},
          {"sinks", o.attention.num_sinks},
          {"kv_budget_min", o.attention.min_budget},
          {"kv_budget_max", o.attention.max_budget},
          {"kv_dtype", std::string(to_string(o.kv_type))},
          {"dtype", std::string(to_string(o.weight_type))},
          {"model", o.model},
          {"text", flags.text_path},
          {"synthetic_weights", engine.synthetic()},
          {"seconds", r.seconds},
          {"kv_tokens_attended_per_step", r.kv_tokens_attended_per_step}};
}

void print_text(engine::local_engine& engine, const ppl_flags& flags,
                const engine::perplexity_result& r) {
  // On stderr, after the run: an error must stay the only line (cli_errors.hpp).
  log_model(engine, -1.0);  // says SYNTHETIC when it is
  std::printf("PPL = %.4f +/- %.5f (%d chunks, %lld tokens scored, ctx %d, attention %s kv %s)\n",
              r.ppl, r.stderr_ppl, r.num_chunks, static_cast<long long>(r.num_tokens_scored),
              flags.eval.context, describe_attention(engine.options().attention).c_str(),
              std::string(to_string(engine.options().kv_type)).c_str());
  std::fprintf(stderr, "alisa: %lld text tokens, %.2f s, %.1f KV tokens attended per step and layer\n",
               static_cast<long long>(r.num_text_tokens), r.seconds, r.kv_tokens_attended_per_step);
}

int eval_ppl(ppl_flags& flags) {
  if (auto err = finish_engine_flags(flags.engine)) return fail(*err);
  if (flags.engine.options.tiers.tiered())
    return fail("eval ppl keeps each chunk's KV in a dense device cache; --device-kv-budget and "
                "the other tier flags apply to run and bench");
  if (auto err = check(flags.eval)) return fail(*err);
  auto text = read_text_file(flags.text_path);  // before the model: a typo fails fast
  if (!text.ok()) return fail(text.status());
  auto engine = engine::local_engine::open(flags.engine.options);
  if (!engine.ok()) return fail(engine.status());
  auto result = engine::evaluate_perplexity(**engine, *text, flags.eval);
  if (!result.ok()) return fail(result.status());
  if (flags.json)
    std::cout << to_json(**engine, flags, *result).dump() << std::endl;
  else
    print_text(**engine, flags, *result);
  return 0;
}

}  // namespace

void add_eval_command(CLI::App& app, int& exit_code) {
  CLI::App* eval = app.add_subcommand("eval", "accuracy evaluations of a model in this process");
  eval->require_subcommand(1);
  auto flags = std::make_shared<ppl_flags>();
  CLI::App* ppl = eval->add_subcommand(
      "ppl",
      "perplexity over a text file, computed like llama-perplexity: the text is tokenized once "
      "with BOS and cut into chunks of --ctx tokens whose first token is BOS, each chunk starts "
      "from an empty KV cache, and only the second half of each chunk is scored. Every position "
      "is a decode step, so --attention/--kv-sparsity act exactly as in a real decode. Prints "
      "'PPL = p +/- stderr (...)'. Text shorter than two chunks is refused.");
  add_engine_flags(*ppl, flags->engine);
  auto& o = flags->eval;
  ppl->add_option("--text", flags->text_path, "the text file to evaluate (UTF-8, read whole)")
      ->required();
  ppl->add_option("--ctx,-c", o.context,
                  "tokens per chunk, >= 4 and <= the model's context; the predictions at "
                  "positions ctx/2 .. ctx-2 are scored")
      ->capture_default_str();
  ppl->add_option("--chunks", o.max_chunks, "evaluate at most this many chunks (0 = all)")
      ->capture_default_str();
  ppl->add_option("--batch,-b", o.batch,
                  "chunks decoded together (the weights are read once per step for all of them)")
      ->capture_default_str();
  ppl->add_flag("--json", flags->json,
                "print one JSON object (ppl, stderr, mean_nll, num_chunks, num_tokens_scored, "
                "num_text_tokens, ctx, batch, attention, kv_sparsity, swa_window, sinks, "
                "kv_budget_min, kv_budget_max, kv_dtype, dtype, model, text, synthetic_weights, "
                "seconds, kv_tokens_attended_per_step) instead of the summary line");
  ppl->callback([flags, &exit_code] { exit_code = eval_ppl(*flags); });
}

}  // namespace alisa::cluster
