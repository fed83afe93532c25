// The `alisa` command line: one binary, one subcommand per job.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>

#include "cluster/bench_command.hpp"
#include "cluster/cluster_command.hpp"
#include "cluster/config_file.hpp"
#include "cluster/eval_command.hpp"
#include "cluster/log.hpp"
#include "cluster/node_command.hpp"
#include "cluster/output_check.hpp"
#include "cluster/run_command.hpp"
#include "cluster/serve_command.hpp"
#include "cluster/status_command.hpp"
#include "cluster/submit_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"alisa — LLM inference with a sparsity-aware, tiered KV cache"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "help for every command");
  std::string config_path;  // consumed by expand_config_file before parsing; here for --help
  app.add_option("--config", config_path,
                 "any command: read options from FILE (`name = value` lines, docs/config.md); "
                 "flags on the command line override it");
  std::string log_level = "info";
  app.add_option("--log-level", log_level,
                 "any command: error, warn, info (default) or debug (also why a backend was "
                 "chosen); cluster up passes it to every node")
      ->each([](const std::string& level) {
        if (auto err = alisa::cluster::set_log_level(level); !err.empty()) throw CLI::ValidationError(err);
      });
  // Options of `alisa` itself (--log-level, --config) may follow the subcommand.
  app.fallthrough();
  alisa::cluster::set_log_level("info");
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string error;
  auto expanded = alisa::cluster::expand_config_file(args, error);
  if (!expanded) {
    std::cerr << "alisa: error: " << error << std::endl;
    return 2;
  }
  int exit_code = 0;
  alisa::cluster::add_run_command(app, exit_code);
  alisa::cluster::add_serve_command(app, exit_code);
  alisa::cluster::add_bench_command(app, exit_code);
  alisa::cluster::add_eval_command(app, exit_code);
  alisa::cluster::add_node_command(app, exit_code);
  alisa::cluster::add_cluster_command(app, exit_code, *expanded);
  alisa::cluster::add_submit_command(app, exit_code);
  alisa::cluster::add_status_command(app, exit_code);
  try {
    std::vector<std::string> reversed(expanded->rbegin(), expanded->rend());  // CLI11's order
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return alisa::cluster::finish_output(app.exit(e));  // --help
    // Usage errors in the same one-line style as every other error, exit status 2.
    std::cerr << "alisa: error: " << e.what() << " (see --help)" << std::endl;
    return 2;
  }
  return alisa::cluster::finish_output(exit_code);
}
