#pragma once
// `alisa bench prefill`: what a long prompt costs the jobs already decoding (inter-token latency
// alone vs while it prefills), once per --max-prefill-tokens budget, through the one step loop.
#include <CLI/CLI.hpp>

namespace alisa::cluster {

// Adds the subcommand to `alisa bench`.
void add_bench_prefill_command(CLI::App& bench, int& exit_code);

}  // namespace alisa::cluster
