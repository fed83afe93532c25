#pragma once
// `alisa bench remote-tier`: fetch bandwidth from a memory tier over CAF's network layer (loopback).
#include <CLI/CLI.hpp>

namespace alisa::cluster {

// Adds the subcommand to `alisa bench`.
void add_bench_remote_tier_command(CLI::App& bench, int& exit_code);

}  // namespace alisa::cluster
