#include "cluster/status_command.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "actors/runtime_atoms.hpp"
#include "cluster/cli_errors.hpp"
#include "cluster/node_system.hpp"

namespace alisa::cluster {
namespace {

struct status_flags {
  std::string coordinator = "127.0.0.1:7700";
  bool json = false;
  int connect_timeout_s = 10;
  tls_options tls;
};

int show_status(status_flags& flags) {
  if (auto err = flags.tls.validate()) return fail(*err);
  std::string error;
  auto at = parse_endpoint(flags.coordinator, "--coordinator", error);
  if (!at) return fail(error);
  node_system node(flags.tls);
  auto coordinator = node.connect(*at, std::chrono::seconds(flags.connect_timeout_s), error);
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
  if (status.is_null()) return fail("the coordinator at " + at->to_string() + " did not answer: " + error);
  if (flags.json) {
    std::cout << status.dump() << std::endl;
  } else {
    std::cout << "coordinator " << at->to_string() << ": " << status["workers"] << " workers, "
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
  cmd->add_option("--coordinator", flags->coordinator, "HOST:PORT of the coordinator")
      ->capture_default_str();
  cmd->add_flag("--json", flags->json,
                "print {workers, memory_nodes, queued, running, restarts, memory_bytes_used} as one "
                "JSON object");
  cmd->add_option("--connect-timeout", flags->connect_timeout_s,
                  "seconds to keep trying to reach the coordinator")
      ->capture_default_str();
  add_tls_flags(*cmd, flags->tls);
  cmd->callback([flags, &exit_code] {
    try {
      exit_code = show_status(*flags);
    } catch (const std::exception& e) {
      exit_code = fail(e.what());
    }
  });
}

}  // namespace alisa::cluster
