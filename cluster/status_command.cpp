#include "cluster/status_command.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "actors/runtime_atoms.hpp"
#include "cluster/cli_errors.hpp"
#include "cluster/coordinator_client.hpp"
#include "cluster/node_system.hpp"

namespace alisa::cluster {
namespace {

struct status_flags {
  coordinator_flags client;
  bool json = false;
};

int show_status(status_flags& flags) {
  if (auto err = flags.client.security.validate()) return fail(*err);
  node_system node(flags.client.security);
  endpoint at;
  std::string error;
  auto coordinator = connect_coordinator(node, flags.client, at, error);
  if (!coordinator) return fail(error);
  nlohmann::json status;
  {
    caf::scoped_actor self{node.system()};
    self->request(*coordinator, std::chrono::seconds(10), actors::status_atom::value)
        .receive(
            [&](uint32_t workers, uint32_t memory, uint32_t queued, uint32_t running,
                uint64_t restarts, uint64_t memory_bytes) {
              status = {{"workers", workers},       {"memory_nodes", memory},
                        {"queued", queued},         {"running", running},
                        {"restarts", restarts},     {"memory_bytes_used", memory_bytes}};
            },
            [&](caf::error& err) { error = node.system().render(err); });
  }
  if (status.is_null()) return fail("the coordinator at " + at.to_string() + " did not answer: " + error);
  if (flags.json) {
    std::cout << status.dump() << std::endl;
  } else {
    std::cout << "coordinator " << at.to_string() << ": " << status["workers"] << " workers, "
              << status["memory_nodes"] << " memory nodes, " << status["running"] << " jobs running, "
              << status["queued"] << " queued, " << status["restarts"] << " restarts, "
              << status["memory_bytes_used"] << " bytes of KV on memory nodes" << std::endl;
  }
  return 0;
}

}  // namespace

void add_status_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<status_flags>();
  CLI::App* cmd = app.add_subcommand(
      "status", "show a running cluster's workers, memory nodes, running and queued jobs");
  add_coordinator_flags(*cmd, flags->client);
  cmd->add_flag("--json", flags->json,
                "print {workers, memory_nodes, queued, running, restarts, memory_bytes_used} as one "
                "JSON object");
  cmd->callback([flags, &exit_code] {
    exit_code = run_reporting_errors([&] { return show_status(*flags); });
  });
}

}  // namespace alisa::cluster
