// The `alisa` command line: one binary, one subcommand per job.
#include <CLI/CLI.hpp>

#include "cluster/bench_command.hpp"
#include "cluster/run_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"alisa — LLM inference with a sparsity-aware, tiered KV cache"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "help for every command");
  int exit_code = 0;
  alisa::cluster::add_run_command(app, exit_code);
  alisa::cluster::add_bench_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);  // prints usage errors as "…" and --help text; non-zero on error
  }
  return exit_code;
}
