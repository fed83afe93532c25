#include "cluster/node_membership.hpp"

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <iostream>
#include <thread>

#include "actors/runtime_atoms.hpp"
#include "cluster/cli_errors.hpp"
#include "cluster/shutdown_signal.hpp"
#include "engine/model_identity.hpp"
#include "proto/caf_messages.hpp"

namespace alisa::cluster {
namespace {

// A worker's model must be the coordinator's (engine/model_identity.hpp): asks for its identity
// and names every field that differs. The coordinator checks node_hello too (ignores a mismatch).
enum class model_check { same, different, no_answer };
model_check same_model_as_coordinator(node_system& node, const caf::actor& coordinator,
                                      const std::string& identity, std::string& error) {
  caf::scoped_actor self{node.system()};
  auto result = model_check::no_answer;
  self->request(coordinator, std::chrono::seconds(5), actors::model_identity_atom::value)
      .receive(
          [&](const std::string& theirs) {
            auto difference = engine::identity_difference(identity, theirs, "here", "on the coordinator");
            result = difference ? model_check::different : model_check::same;
            if (difference) error = "this worker serves another model than the coordinator: " + *difference;
          },
          [&](caf::error& e) {
            error = "the coordinator did not say which model it serves: " + node.system().render(e);
          });
  return result;
}

}  // namespace

std::optional<caf::actor> join(node_system& node, const caf::actor& whom, const node_flags& flags,
                               const endpoint& self_at, node_id id, const std::string& identity,
                               std::chrono::seconds patience, std::string& error) {
  auto at = parse_endpoint(flags.coordinator, "--coordinator", error);
  if (!at) return std::nullopt;
  const auto deadline = std::chrono::steady_clock::now() + patience;
  auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  };
  std::optional<caf::actor> coordinator;
  // A coordinator that just resumed may still hold this node's previous connection and drop the
  // new one (CAF 0.17 keeps one connection per node): then the check gets no answer; try again.
  for (;;) {
    coordinator = node.connect(*at, std::max(left(), std::chrono::milliseconds(0)), error);
    if (!coordinator) return std::nullopt;
    if (identity.empty()) break;
    const auto check = same_model_as_coordinator(node, *coordinator, identity, error);
    if (check == model_check::same) break;
    if (check == model_check::different || left().count() <= 0 || shutdown_requested())
      return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  caf::send_as(whom, *coordinator, node_hello{id, flags.role, self_at.to_string(), identity});
  std::cerr << "alisa: " << flags.role << " " << self_at.to_string() << " joined the coordinator at "
            << at->to_string() << std::endl;
  return coordinator;
}


int serve_until_shutdown(node_system& node, const std::vector<caf::actor>& own,
                         caf::actor coordinator, const std::string& coordinator_at,
                         const rejoin_plan& plan) {
  std::string failure;
  {
    caf::scoped_actor self{node.system()};
    if (coordinator) self->monitor(coordinator);
    for (const auto& a : own) self->monitor(a);
    auto coordinator_lost = [&](const caf::error& reason) {
      const std::string what = "the coordinator at " + coordinator_at + " went away (" + to_string(reason) + ")";
      if (!plan.rejoin || plan.grace_s <= 0) return void(failure = what);
      std::cerr << "alisa: " << what << "; trying to rejoin for " << plan.grace_s << " s" << std::endl;
      if (plan.lost) plan.lost();
      std::string error;
      auto again = plan.rejoin(error);
      if (!again) return void(failure = what + " and did not come back within " +
                                        std::to_string(plan.grace_s) + " s: " + error);
      coordinator = *again;
      self->monitor(coordinator);
    };
    while (!shutdown_requested() && failure.empty())
      self->receive(
          [&](caf::down_msg& down) {
            if (coordinator && down.source == coordinator.address())
              coordinator_lost(down.reason);
            else
              failure = "this node's actor stopped (" + to_string(down.reason) + ")";
          },
          caf::after(std::chrono::milliseconds(100)) >> [] {});
    for (const auto& a : own) {
      node.unpublish(a);
      self->send_exit(a, caf::exit_reason::user_shutdown);
    }
    for (const auto& a : own) self->wait_for(a);
  }
  if (!failure.empty() && !shutdown_requested()) return fail(failure);  // (cluster up stops all)
  std::cerr << "alisa: node stopped (signal " << shutdown_signal_number() << ")" << std::endl;
  return 0;
}


}  // namespace alisa::cluster
