#pragma once
// `alisa bench peer-link`: GPU-to-GPU transfer bandwidth between two workers of a running cluster.
// The coordinator pairs two workers (the first two, or --workers A,B), they set up a link (NCCL
// where both can use it, else CAF messages; --transport forces one) and move --bytes of backend
// memory from the first to the second --rounds times; both ends checksum every round.
#include <CLI/CLI.hpp>

namespace alisa::cluster {

// Adds the subcommand to `alisa bench`.
void add_bench_peer_link_command(CLI::App& bench, int& exit_code);

}  // namespace alisa::cluster
