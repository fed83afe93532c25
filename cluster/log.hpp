#pragma once
// log — the command line's diagnostics on stderr through spdlog, with levels set by
// `--log-level` (any command; `cluster up` hands it to every node): error, warn, info (the
// default: the model line, nodes joining, the server's address), debug (also why a backend was
// chosen, e.g. the CUDA driver's message). Errors that end a command keep their one-line
// `alisa: error: …` form (cli_errors.hpp) whatever the level.
#include <chrono>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace alisa::engine {
class local_engine;
}

namespace alisa::cluster {

// The names --log-level accepts.
inline constexpr std::string_view log_level_names = "error, warn, info, debug";

// Sets up the stderr logger once (pattern "alisa: [level: ]message") at `level`; an unknown
// name is an error naming the accepted ones.
std::string set_log_level(std::string_view level);

// The model line at info, why its backend was chosen at debug. On a terminal, model loading
// shows progress (loading …, then the time it took; load_seconds < 0 = not timed).
void log_model(const engine::local_engine& engine, double load_seconds);
void log_loading(const std::string& model);

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace alisa::cluster
