#pragma once
// `alisa cluster up --workers N --memory-nodes M [--base-port P]`: a local multi-process cluster
// (docs/cluster.md). The coordinator listens on the base port, workers on the next N ports, memory
// nodes on the M after; every other flag (model, attention, budgets, TLS...) is passed to every
// node. It prints one "ROLE HOST:PORT pid PID" line per node and a "ready:" line once all joined, then
// supervises them until Ctrl-C / SIGTERM, when it stops them all (SIGTERM, then SIGKILL after a
// grace period) and exits.
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace alisa::cluster {

// `args`: the whole command line after the program name (after config-file expansion); it must
// outlive parsing.
void add_cluster_command(CLI::App& app, int& exit_code, const std::vector<std::string>& args);

}  // namespace alisa::cluster
