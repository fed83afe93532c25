#pragma once
// shutdown_signal — Ctrl-C (SIGINT) and SIGTERM as a flag that long-running commands (node,
// cluster up, serve) poll, so they stop their actors and exit cleanly instead of dying mid-write.
//
// A clean stop can hang where no poll runs (a start-up blocked inside CAF's connect to a peer
// that accepted TCP but never answers, a stuck step): a watchdog then ends the process
// `watchdog` after the signal, so SIGTERM always ends a node within seconds.
#include <chrono>

namespace alisa::cluster {

// Installs handlers that only set the flag (async-signal-safe); a second signal then takes the
// default action (terminates). With a nonzero `watchdog`, a detached thread exits the process
// (status 128 + signal, saying so on stderr) when a clean stop takes longer. Idempotent.
void install_shutdown_signals(std::chrono::seconds watchdog = std::chrono::seconds(10));
bool shutdown_requested();
// The signal that asked for shutdown (SIGINT or SIGTERM), 0 if none.
int shutdown_signal_number();

}  // namespace alisa::cluster
