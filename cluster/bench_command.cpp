#include "cluster/bench_command.hpp"

#include <cstdio>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "engine/decode_benchmark.hpp"
#include "cluster/bench_attention.hpp"
#include "cluster/bench_peer_link.hpp"
#include "cluster/bench_prefill.hpp"
#include "cluster/bench_remote_tier.hpp"
#include "cluster/bench_serve.hpp"
#include "cluster/cli_errors.hpp"
#include "cluster/engine_flags.hpp"
#include "cluster/tier_json.hpp"

namespace alisa::cluster {
namespace {

struct bench_flags {
  engine_flags engine;
  engine::decode_bench_options bench;
  std::vector<int> sweep;  // batch sizes; empty = just --batch
  bool json = false;
};

std::optional<std::string> check(const engine::decode_bench_options& o, int context) {
  if (o.batch < 1 || o.batch > 4096) return "--batch must be 1 to 4096 sequences";
  if (o.prompt_len < 1) return "--prompt-len must be >= 1";
  if (o.gen_len < 1) return "--gen-len must be >= 1";
  if (o.repetitions < 1) return "--repetitions must be >= 1";
  if (o.warmup < 0) return "--warmup must be >= 0";
  if (o.prompt_len + o.gen_len > context)
    return "--prompt-len + --gen-len = " + std::to_string(o.prompt_len + o.gen_len) +
           " exceeds the model's context of " + std::to_string(context) +
           " (synthetic models accept --context)";
  return std::nullopt;
}

nlohmann::json stats_json(const std::vector<double>& v) {
  const auto s = engine::summarize(v);
  return {{"mean", s.mean}, {"stddev", s.stddev}, {"median", s.median}, {"samples", v}};
}

nlohmann::json to_json(engine::local_engine& engine, const engine::decode_bench_options& o,
                       const engine::decode_bench_result& r) {
  const double steps_per_s = engine::summarize(r.decode_tokens_per_s).median / o.batch;
  const double weight_gbs = r.weight_bytes_per_step * steps_per_s / 1e9;
  const double total_gbs = (r.weight_bytes_per_step + r.kv_bytes_per_step) * steps_per_s / 1e9;
  return {{"model", engine.options().model},
          {"synthetic_weights", engine.synthetic()},
          {"dtype", to_string(engine.options().weight_type)},
          {"backend", engine.backend().name()},
          {"batch", o.batch},
          {"prompt_len", o.prompt_len},
          {"gen_len", o.gen_len},
          {"repetitions", o.repetitions},
          {"prompt_tokens_per_s", stats_json(r.prompt_tokens_per_s)},
          {"decode_tokens_per_s", stats_json(r.decode_tokens_per_s)},
          {"weight_bytes_per_step", r.weight_bytes_per_step},
          {"kv_bytes_per_step", r.kv_bytes_per_step},
          {"kv_bytes_read_per_step", r.kv_bytes_per_step},
          {"kv_tokens_attended_per_step", r.kv_tokens_attended_per_step},
          {"attention_ms_per_step", stats_json(r.attention_ms_per_step)},
          {"selection_ms_per_step", stats_json(r.selection_ms_per_step)},
          {"attention", scheduler::to_string(engine.options().attention.policy)},
          {"kv_sparsity", engine.options().attention.sparsity},
          {"kv_dtype", to_string(engine.options().kv_type)},
          {"achieved_weight_bandwidth_gbs", weight_gbs},
          {"achieved_total_bandwidth_gbs", total_gbs},
          {"measured_read_bandwidth_gbs", r.measured_read_bandwidth_gbs},
          {"bandwidth_fraction",
           r.measured_read_bandwidth_gbs > 0 ? total_gbs / r.measured_read_bandwidth_gbs : 0.0}};
}

// Tiered runs: throughput over the whole job (the paper's metric), preemptions, and the tiers.
void add_tier_fields(engine::local_engine& engine, const engine::decode_bench_options& o,
                     const engine::decode_bench_result& r, nlohmann::json& out) {
  auto* store = engine.tier_store();
  if (!store || !r.tiers) return;
  out["policy"] = scheduler::to_string(store->options().policy);
  out["throughput_tokens_per_s"] = stats_json(r.throughput_tokens_per_s);
  out["kv_transfer_ms_per_step"] = stats_json(r.kv_transfer_ms_per_step);
  out["recompute_ms_per_step"] = stats_json(r.recompute_ms_per_step);
  out["num_preemptions"] = r.num_preemptions;
  out["tokens_reprefilled"] = r.tokens_reprefilled;
  const double steps = o.gen_len;
  const double total_ms = 1e3 * o.batch * o.gen_len /
                          std::max(1e-9, engine::summarize(r.throughput_tokens_per_s).median);
  out["kv_tiers"] = tier_report_json(*store, *r.tiers, total_ms,
                                     engine::summarize(r.kv_transfer_ms_per_step).median * steps,
                                     engine::summarize(r.recompute_ms_per_step).median * steps);
}

void print_text(const nlohmann::json& j) {
  auto line = [](const char* what, const nlohmann::json& s) {
    std::printf("%-22s %10.2f ± %.2f tok/s (median %.2f)\n", what, s["mean"].get<double>(),
                s["stddev"].get<double>(), s["median"].get<double>());
  };
  std::printf("model %s  dtype %s  backend %s  batch %d  prompt %d  gen %d\n",
              j["model"].get<std::string>().c_str(), j["dtype"].get<std::string>().c_str(),
              j["backend"].get<std::string>().c_str(), j["batch"].get<int>(),
              j["prompt_len"].get<int>(), j["gen_len"].get<int>());
  line("prompt processing", j["prompt_tokens_per_s"]);
  line("decode", j["decode_tokens_per_s"]);
  std::printf("weights read per step  %.1f MB (+ %.1f MB KV)\n",
              j["weight_bytes_per_step"].get<double>() / 1e6, j["kv_bytes_per_step"].get<double>() / 1e6);
  std::printf("attention              %.2f ms/step (selection %.3f ms), %.1f tokens per layer\n",
              j["attention_ms_per_step"]["median"].get<double>(),
              j["selection_ms_per_step"]["median"].get<double>(),
              j["kv_tokens_attended_per_step"].get<double>());
  std::printf("achieved bandwidth     %.2f GB/s (weights %.2f) vs measured read %.2f GB/s = %.0f%%\n",
              j["achieved_total_bandwidth_gbs"].get<double>(),
              j["achieved_weight_bandwidth_gbs"].get<double>(),
              j["measured_read_bandwidth_gbs"].get<double>(),
              100.0 * j["bandwidth_fraction"].get<double>());
}

int bench_decode(bench_flags& flags) {
  if (auto err = finish_engine_flags(flags.engine)) return fail(*err);
  if (flags.bench.batch < 1 || flags.bench.prompt_len < 1 || flags.bench.gen_len < 1)
    return fail(*check(flags.bench, 1 << 30));
  auto engine = engine::local_engine::open(flags.engine.options);
  if (!engine.ok()) return fail(engine.status());
  if (auto err = check(flags.bench, (*engine)->config().max_position_embeddings)) return fail(*err);
  if ((*engine)->synthetic() && !flags.json)
    std::fprintf(stderr, "alisa: note: %s has SYNTHETIC random weights\n", flags.engine.options.model.c_str());
  std::vector<int> batches = flags.sweep;
  if (batches.empty()) batches.push_back(flags.bench.batch);
  for (int b : batches)
    if (b < 1 || b > 4096) return fail("--sweep batch sizes must be 1 to 4096; got " + std::to_string(b));
  nlohmann::json all = nlohmann::json::array();
  for (int b : batches) {
    auto options = flags.bench;
    options.batch = b;
    engine::decode_bench_result result;
    try {
      result = engine::run_decode_benchmark(**engine, options);
    } catch (const std::exception& e) {
      return fail(std::string("batch ") + std::to_string(b) + ": " + e.what());
    }
    auto j = to_json(**engine, options, result);
    add_tier_fields(**engine, options, result, j);
    if (!flags.json) print_text(j);
    all.push_back(std::move(j));
  }
  if (flags.json) std::cout << (flags.sweep.empty() ? all[0] : nlohmann::json{{"sweep", all}}).dump() << std::endl;
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
  CLI::App* bench = app.add_subcommand("bench", "benchmarks that print numbers (JSON with --json)");
  bench->require_subcommand(1);
  add_bench_remote_tier_command(*bench, exit_code);
  add_bench_peer_link_command(*bench, exit_code);
  add_bench_prefill_command(*bench, exit_code);
  add_bench_attention_command(*bench, exit_code);
  add_bench_serve_command(*bench, exit_code);
  auto flags = std::make_shared<bench_flags>();
  CLI::App* decode = bench->add_subcommand(
      "decode", "prompt and decode tokens/s, weight bytes per step, achieved vs measured bandwidth");
  add_engine_flags(*decode, flags->engine);
  auto& o = flags->bench;
  decode->add_option("--batch,-b", o.batch, "sequences decoded together")->capture_default_str();
  decode->add_option("--prompt-len", o.prompt_len, "prompt tokens per sequence")->capture_default_str();
  decode->add_option("--gen-len", o.gen_len, "decode steps per repetition")->capture_default_str();
  decode->add_option("--repetitions,-r", o.repetitions, "timed repetitions")->capture_default_str();
  decode->add_option("--warmup", o.warmup, "untimed repetitions first")->capture_default_str();
  decode->add_option("--sweep", flags->sweep,
                     "run once per batch size, e.g. --sweep 4,8,16,32,64 (JSON: {\"sweep\": [...]})")
      ->delimiter(',');
  decode->add_flag("--json", flags->json, "print one JSON object");
  decode->callback([flags, &exit_code] { exit_code = bench_decode(*flags); });
}

}  // namespace alisa::cluster
