#include "cluster/coordinator_client.hpp"

#include <chrono>

namespace alisa::cluster {

void add_coordinator_flags(CLI::App& app, coordinator_flags& flags) {
  app.add_option("--coordinator", flags.coordinator, "HOST:PORT of the coordinator")
      ->capture_default_str();
  app.add_option("--connect-timeout", flags.connect_timeout_s,
                 "seconds to keep trying to reach the coordinator")
      ->capture_default_str();
  add_security_flags(app, flags.security);
}

std::optional<caf::actor> connect_coordinator(node_system& node, const coordinator_flags& flags,
                                              endpoint& at, std::string& error) {
  auto parsed = parse_endpoint(flags.coordinator, "--coordinator", error);
  if (!parsed) return std::nullopt;
  at = *parsed;
  return node.connect(at, std::chrono::seconds(flags.connect_timeout_s), error);
}

}  // namespace alisa::cluster
