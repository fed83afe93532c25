#pragma once
// `alisa bench attention`: the attention op alone (the CPU backend's tiled prefill kernel vs the
// per-row kernel vs the matrix kernel's FLOP rate), per context length; see
// gpu/attention_benchmark.hpp.
#include <CLI/CLI.hpp>

namespace alisa::cluster {

// Adds the subcommand to `alisa bench`.
void add_bench_attention_command(CLI::App& bench, int& exit_code);

}  // namespace alisa::cluster
