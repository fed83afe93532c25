#pragma once
// `alisa serve`: the OpenAI-compatible HTTP front end (cluster/http/openai_server.hpp) on the
// embedded actor runtime, or in front of a running cluster with --coordinator.
#include <CLI/CLI.hpp>

namespace alisa::cluster {

void add_serve_command(CLI::App& app, int& exit_code);

}  // namespace alisa::cluster
