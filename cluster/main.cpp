// The `alisa` command line: one binary, one subcommand per job.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cluster/bench_command.hpp"
#include "cluster/eval_command.hpp"
#include "cluster/run_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"alisa — LLM inference with a sparsity-aware, tiered KV cache"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "help for every command");
  int exit_code = 0;
  alisa::cluster::add_run_command(app, exit_code);
  alisa::cluster::add_bench_command(app, exit_code);
  alisa::cluster::add_eval_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help / --help-all
    // Usage errors in the same one-line style as every other error, exit status 2.
    std::cerr << "alisa: error: " << e.what() << " (see --help)" << std::endl;
    return 2;
  }
  return exit_code;
}
