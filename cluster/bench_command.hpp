#pragma once
// `alisa bench decode`: prompt and decode throughput of a model in this process (llama-bench style).
#include <CLI/CLI.hpp>

namespace alisa::cluster {

void add_bench_command(CLI::App& app, int& exit_code);

}  // namespace alisa::cluster
