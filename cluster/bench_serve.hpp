#pragma once
// `alisa bench serve`: a serving benchmark against any OpenAI-compatible URL
// (cluster/http/serve_load.hpp), like vLLM's benchmark_serving.
#include <CLI/CLI.hpp>

namespace alisa::cluster {

void add_bench_serve_command(CLI::App& bench, int& exit_code);

}  // namespace alisa::cluster
