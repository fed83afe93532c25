#pragma once
// coordinator_client — what every command that talks to a running cluster shares (submit,
// status): the --coordinator, --connect-timeout and TLS flags, and connecting with them.
#include <caf/actor.hpp>

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "cluster/node_system.hpp"

namespace alisa::cluster {

struct coordinator_flags {
  std::string coordinator = "127.0.0.1:7700";
  int connect_timeout_s = 10;
  link_security security;
};

void add_coordinator_flags(CLI::App& app, coordinator_flags& flags);

// Validates the flags and connects `node` (built with flags.security) to the coordinator; `error`
// names the bad flag or the endpoint that never answered. `at` receives the parsed endpoint.
std::optional<caf::actor> connect_coordinator(node_system& node, const coordinator_flags& flags,
                                              endpoint& at, std::string& error);

}  // namespace alisa::cluster
