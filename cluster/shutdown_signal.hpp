#pragma once
// shutdown_signal — Ctrl-C (SIGINT) and SIGTERM as a flag that long-running commands (node,
// cluster up) poll, so they stop their actors and exit cleanly instead of dying mid-write.
namespace alisa::cluster {

// Installs handlers that only set the flag (async-signal-safe); a second signal then takes the
// default action (terminates). Idempotent.
void install_shutdown_signals();
bool shutdown_requested();
// The signal that asked for shutdown (SIGINT or SIGTERM), 0 if none.
int shutdown_signal_number();

}  // namespace alisa::cluster
