#pragma once
// `alisa status --coordinator HOST:PORT [--json]`: a running cluster's membership and load.
#include <CLI/CLI.hpp>

namespace alisa::cluster {

void add_status_command(CLI::App& app, int& exit_code);

}  // namespace alisa::cluster
