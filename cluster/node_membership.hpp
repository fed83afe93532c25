#pragma once
// node_membership — a worker or memory node's life with its coordinator:
//
//   join ──connect (retrying for the patience)──> [worker: same model?] ──node_hello──> member
//   member ──coordinator down──> lost() ──rejoin within --coordinator-grace──> member
//                                        └─(no answer in time)──> exit 1
//
// A worker's model must be the coordinator's (engine/model_identity.hpp): it asks for the
// coordinator's identity and names every field that differs; the coordinator checks node_hello
// too and ignores a mismatch. Runs on the node's main thread; blocks.
#include <caf/actor.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cluster/node_command.hpp"
#include "cluster/node_system.hpp"
#include "proto/ids.hpp"

namespace alisa::cluster {

// How a worker or memory node gets its coordinator back: `lost` runs first (a worker forgets its
// jobs: the coordinator restarts them), then `rejoin` connects and says node_hello again, trying
// for the grace period; nullopt and an error when it never answers.
struct rejoin_plan {
  std::function<void()> lost;
  std::function<std::optional<caf::actor>(std::string& error)> rejoin;
  int grace_s = 0;
};

// Connects to --coordinator (retrying for `patience`) and announces `whom` under flags.role; a
// worker (non-empty `identity`) first checks that it serves the coordinator's model. The
// coordinator, or nullopt and `error` naming what failed.
std::optional<caf::actor> join(node_system& node, const caf::actor& whom, const node_flags& flags,
                               const endpoint& self_at, node_id id, const std::string& identity,
                               std::chrono::seconds patience, std::string& error);

// Polls for Ctrl-C / SIGTERM and watches the coordinator (for worker and memory nodes) and the
// node's own actors; then stops the own actors and unpublishes them, so the actor system can join
// its threads. A lost coordinator is rejoined by `plan` within its grace period (a coordinator
// paused or restarted). Exit code 0 on a signal, 1 when the coordinator stayed away or an own
// actor died (cluster up then reports the node gone, and the coordinator restarts its work
// elsewhere).
int serve_until_shutdown(node_system& node, const std::vector<caf::actor>& own,
                         caf::actor coordinator, const std::string& coordinator_at,
                         const rejoin_plan& plan = {});

}  // namespace alisa::cluster
