#include "cluster/log.hpp"

#include <unistd.h>

#include <spdlog/sinks/stdout_sinks.h>

#include "engine/local_engine.hpp"

namespace alisa::cluster {
namespace {

// Info lines read like the rest of the CLI ("alisa: …"); other levels name themselves.
void install_logger() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  auto logger = spdlog::stderr_logger_mt("alisa");
  logger->set_pattern("alisa: %v");
  spdlog::set_default_logger(logger);
  spdlog::flush_on(spdlog::level::trace);
}

bool on_terminal() { return ::isatty(STDERR_FILENO) == 1; }

}  // namespace

std::string set_log_level(std::string_view level) {
  install_logger();
  spdlog::level::level_enum l;
  if (level == "error") l = spdlog::level::err;
  else if (level == "warn") l = spdlog::level::warn;
  else if (level == "info") l = spdlog::level::info;
  else if (level == "debug") l = spdlog::level::debug;
  else return "--log-level must be one of " + std::string(log_level_names) + "; got '" + std::string(level) + "'";
  spdlog::set_level(l);
  return "";
}

void log_loading(const std::string& model) {
  install_logger();
  if (on_terminal()) spdlog::info("loading {} …", model);
}

void log_model(const engine::local_engine& engine, double load_seconds) {
  install_logger();
  if (on_terminal() && load_seconds >= 0) spdlog::info("loaded in {:.1f} s", load_seconds);
  spdlog::info("{}", engine.describe());
  if (!engine.backend_choice().empty()) spdlog::debug("backend: {}", engine.backend_choice());
}

}  // namespace alisa::cluster
