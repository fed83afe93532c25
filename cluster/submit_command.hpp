#pragma once
// `alisa submit --coordinator HOST:PORT --prompt ...`: a client of a running cluster.
#include <CLI/CLI.hpp>

namespace alisa::cluster {

void add_submit_command(CLI::App& app, int& exit_code);

}  // namespace alisa::cluster
