#include "cluster/bench_attention.hpp"

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cluster/cli_errors.hpp"
#include "gpu/attention_benchmark.hpp"

namespace alisa::cluster {
namespace {

struct attention_flags {
  gpu::attention_bench_options bench;
  std::string kv_dtype_name = "fp32";
  int threads = 0;
  bool json = false;
};

nlohmann::json to_json(const gpu::attention_bench_point& p) {
  return {{"context", p.context},
          {"gflop", p.flops / 1e9},
          {"op_ms", p.op_ms},
          {"op_gflops", p.op_gflops()},
          {"per_row_ms", p.per_row_ms},
          {"per_row_gflops", p.per_row_gflops()},
          {"speedup_vs_per_row", p.op_ms > 0 && p.per_row_ms > 0 ? p.per_row_ms / p.op_ms : 0.0},
          {"matrix_gflops", p.matrix_gflops},
          {"fraction_of_matrix", p.matrix_gflops > 0 ? p.op_gflops() / p.matrix_gflops : 0.0}};
}

int bench_attention(attention_flags& flags) {
  const auto kv = parse_kv_dtype(flags.kv_dtype_name);
  if (!kv) return fail("--kv-dtype must be one of fp32, fp16, bf16, int8; got '" + flags.kv_dtype_name + "'");
  if (flags.threads < 0) return fail("--threads must be >= 0");
  flags.bench.kv = *kv;
  auto be = gpu::make_backend(gpu::backend_kind::cpu, flags.threads);
  const auto points = gpu::run_attention_benchmark(*be, flags.bench);
  nlohmann::json all = nlohmann::json::array();
  for (const auto& p : points) {
    all.push_back(to_json(p));
    if (!flags.json)
      std::printf("context %6d, %d rows: op %.1f ms = %.1f GFLOP/s; per-row kernel %.1f ms = %.1f "
                  "GFLOP/s (%.2fx); matrix kernel %.1f GFLOP/s (op at %.0f%%)\n",
                  p.context, flags.bench.rows, p.op_ms, p.op_gflops(), p.per_row_ms,
                  p.per_row_gflops(), p.per_row_ms / p.op_ms, p.matrix_gflops,
                  100.0 * p.op_gflops() / p.matrix_gflops);
  }
  if (flags.json)
    std::cout << nlohmann::json{{"backend", be->name()},
                                {"heads", flags.bench.num_heads},
                                {"kv_heads", flags.bench.num_kv_heads},
                                {"head_dim", flags.bench.head_dim},
                                {"rows", flags.bench.rows},
                                {"mass_rows", flags.bench.mass_rows},
                                {"kv_dtype", flags.kv_dtype_name},
                                {"rounds", flags.bench.rounds},
                                {"points", all}}
                     .dump()
              << std::endl;
  return 0;
}

}  // namespace

void add_bench_attention_command(CLI::App& bench, int& exit_code) {
  auto flags = std::make_shared<attention_flags>();
  CLI::App* cmd = bench.add_subcommand(
      "attention", "the attention op alone on the CPU: a prefill chunk at the end of each context, "
                   "tiled kernel vs per-row kernel vs the matrix kernel's FLOP rate");
  auto& o = flags->bench;
  cmd->add_option("--heads", o.num_heads, "query heads")->capture_default_str();
  cmd->add_option("--kv-heads", o.num_kv_heads, "kv heads (GQA when fewer than --heads)")
      ->capture_default_str();
  cmd->add_option("--head-dim", o.head_dim, "channels per head")->capture_default_str();
  cmd->add_option("--contexts", o.contexts, "context lengths, e.g. 4096,8192,16384")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--rows", o.rows, "query rows of the chunk (the context's last rows)")
      ->capture_default_str();
  cmd->add_option("--mass-rows", o.mass_rows,
                  "of those, rows reporting attention mass, summed (SWA's window; H2O: all)")
      ->capture_default_str();
  cmd->add_option("--kv-dtype", flags->kv_dtype_name, "KV storage: fp32, fp16, bf16, int8")
      ->capture_default_str();
  cmd->add_option("--rounds", o.rounds, "interleaved rounds (medians are reported)")
      ->capture_default_str();
  cmd->add_option("--threads", flags->threads, "CPU threads (0 = all hardware threads)")
      ->capture_default_str();
  cmd->add_flag("!--no-per-row", o.per_row, "skip timing the per-row kernel");
  cmd->add_flag("--json", flags->json, "print one JSON object");
  cmd->callback([flags, &exit_code] {
    exit_code = run_reporting_errors([&] { return bench_attention(*flags); });
  });
}

}  // namespace alisa::cluster
