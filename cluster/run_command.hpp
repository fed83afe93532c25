#pragma once
// `alisa run`: load a model in this process and generate a continuation of one prompt.
#include <CLI/CLI.hpp>

namespace alisa::cluster {

// Registers the subcommand; the callback sets `exit_code`.
void add_run_command(CLI::App& app, int& exit_code);

}  // namespace alisa::cluster
