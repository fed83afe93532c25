#pragma once
// runtime_atoms — the atoms the runtime's actors exchange besides proto/messages.hpp structs.
#include <caf/atom.hpp>

namespace alisa::actors {

using step_atom = caf::atom_constant<caf::atom("step")>;
// coordinator -> worker: (memory_nodes_atom, std::vector<caf::actor>, std::vector<std::string>)
// the memory tiers alive and the host:port each announced.
using memory_nodes_atom = caf::atom_constant<caf::atom("memnodes")>;
// coordinator -> itself: check the jobs waiting while no worker is alive (no_worker_timeout).
// anyone -> coordinator: (model_identity_atom) -> std::string, the identity workers must match.
using model_identity_atom = caf::atom_constant<caf::atom("modelid")>;
// node -> its worker: forget every job (their coordinator is gone; it restarts them elsewhere).
using reset_jobs_atom = caf::atom_constant<caf::atom("resetjobs")>;
using no_worker_tick_atom = caf::atom_constant<caf::atom("noworker")>;
// anyone -> coordinator: (status_atom) -> (uint32 workers alive, uint32 memory nodes, uint32 queued,
//   uint32 running, uint64 restarts, uint64 bytes held on all memory nodes)
using status_atom = caf::atom_constant<caf::atom("status")>;
// anyone -> coordinator: (metrics_atom) -> runtime_metrics (proto/messages.hpp), for /metrics.
using metrics_atom = caf::atom_constant<caf::atom("metrics")>;

// GPU-to-GPU links (actors/peer_link_setup.hpp):
// coordinator -> worker A: (peer_link_atom, uint64 link_id, caf::actor worker B, string transport)
//   -> peer_link_answer: A becomes rank 0 of a link with B ("auto" | "nccl" | "caf").
using peer_link_atom = caf::atom_constant<caf::atom("peerlink")>;
// worker -> itself: (peer_init_atom, uint64 link_id): join the NCCL communicator it accepted.
using peer_init_atom = caf::atom_constant<caf::atom("peerinit")>;
// coordinator -> worker: (peer_close_atom, uint64 link_id): drop the link (no reply).
using peer_close_atom = caf::atom_constant<caf::atom("peerclose")>;
// coordinator -> worker B: (peer_reach_atom, caf::actor worker A) -> bool (direct connection):
//   B makes sure it talks to A's node directly before a link carries bulk bytes between them.
using peer_reach_atom = caf::atom_constant<caf::atom("peerreach")>;
// worker -> worker: (peer_ping_atom) -> peer_ping_atom: are you there (and route to you).
using peer_ping_atom = caf::atom_constant<caf::atom("peerping")>;

}  // namespace alisa::actors
