#pragma once
// gpu_worker — the actor that owns an engine (backend, model, KV) and runs one step plan at a time:
// joiners are added to its step loop (engine/step_loop.hpp), cancelled jobs dropped, then one
// loop step runs and its step_report is the reply. The loop admits joiners when their KV fits the
// device pool (they wait inside it until then). A joiner the loop refuses comes back in
// step_report::failed; a job whose step hit a fault (KV and hidden states lost) in
// step_report::lost.
//
//   coordinator ──step_plan──> gpu_worker ──step_report (reply)──> coordinator
//   coordinator ──(memory_nodes_atom, [memory_tier...], [host:port...])──> gpu_worker
//
// GPU-to-GPU links: the worker also answers the peer-link protocol (actors/peer_link_setup.hpp):
// the coordinator pairs it with another worker, they agree on NCCL or CAF messages, and move
// bytes of this engine's backend memory between them.
//
// Memory nodes: with a tiered engine (--device-kv-budget), the memory tiers the coordinator names
// become the engine's host tier, one remote_block_store each inside a spread_block_store, so a
// sequence's KV can span nodes. With a prefix cache, they also become its shared level (one more
// connection each, inside a hashed_block_store): prefix blocks any worker computed are found by
// every other. Nodes that join later are added; lost ones are noticed by their stores (their
// blocks become misses and are recomputed).
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <functional>
#include <memory>
#include <string>
#include <map>
#include <set>
#include <vector>

#include "engine/step_loop.hpp"
#include "actors/peer_link_setup.hpp"

namespace alisa::actors {

class spread_block_store;
class hashed_block_store;

struct gpu_worker_state {
  std::unique_ptr<engine::step_loop> loop;
  spread_block_store* memory = nullptr;  // owned by the engine's tiered store once set
  hashed_block_store* prefix_nodes = nullptr;  // owned by the engine's prefix cache once set
  std::set<caf::actor_addr> memory_nodes;  // already added
  // Running job -> bytes held on each memory node, peak over its steps (job_finished reports it).
  std::map<uint64_t, std::vector<uint64_t>> memory_peaks;
  peer_links peers;  // GPU-to-GPU links to other workers (dropped when the actor exits)
  static inline const char* name = "alisa.gpu_worker";
};

// `engine` must outlive the actor (the embedded runtime / the node owns both), and with memory
// nodes it must also be destroyed before the actor system: its host tier then holds scoped actors
// of that system. Spawn detached: a step blocks its thread.
//
// `dial_memory_node` (may be empty) opens a direct connection to a memory node's announced host:port
// before its store is used: nodes run without CAF's automatic connections, so without it the KV
// would be relayed through the coordinator's node. It may block (the worker is detached).
using memory_dialer = std::function<void(const std::string& endpoint)>;
caf::behavior gpu_worker(caf::stateful_actor<gpu_worker_state>* self, engine::local_engine* engine,
                         memory_dialer dial_memory_node);

}  // namespace alisa::actors
