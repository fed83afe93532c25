#include "actors/gpu_worker.hpp"

#include <caf/event_based_actor.hpp>

#include <iostream>

#include "actors/hashed_block_store.hpp"
#include "actors/remote_block_store.hpp"
#include "actors/runtime_atoms.hpp"
#include "actors/spread_block_store.hpp"
#include "proto/caf_messages.hpp"

namespace alisa::actors {
namespace {

using self_ptr = caf::stateful_actor<gpu_worker_state>*;

// A connection to one memory node for one user of it (the tiered store, the prefix cache).
std::unique_ptr<storage::block_store> connect_node(self_ptr self, const caf::actor& node,
                                                   const std::string& name) {
  remote_block_store_options o;
  o.name = name;
  auto store = connect_remote_block_store(self->system(), node, o);
  if (!store.ok()) {
    std::cerr << "alisa: worker: " << name << " unusable: " << store.status().message() << "\n";
    return nullptr;
  }
  return std::move(*store);
}

// The engine's host tier gains the fresh node stores (a spread store over them all).
void add_to_host_tier(self_ptr self, engine::tiered_kv_store& tiers,
                      std::vector<std::unique_ptr<storage::block_store>> fresh) {
  auto& st = self->state;
  if (fresh.empty()) return;
  if (!st.memory) {
    auto spread = std::make_unique<spread_block_store>(std::move(fresh));
    st.memory = spread.get();
    tiers.use_host_store(std::move(spread));
    return;
  }
  for (auto& store : fresh) st.memory->add_store(std::move(store));
  tiers.refresh_host_budget();
}

// The prefix cache's shared level (one per worker, over every memory node) gains a node.
void add_to_prefix_level(self_ptr self, engine::prefix_cache& prefixes, std::string label,
                         std::unique_ptr<storage::block_store> store) {
  auto& st = self->state;
  if (!st.prefix_nodes) {
    auto hashed = std::make_unique<hashed_block_store>();
    st.prefix_nodes = hashed.get();
    prefixes.add_level(std::make_unique<engine::prefix_store_level>(
        engine::prefix_tier::memory_node, std::move(hashed), /*owned=*/false));
  }
  st.prefix_nodes->add_store(std::move(label), std::move(store));
}

// Adds the memory tiers not seen before to the engine's host tier and to its prefix cache.
void add_memory_nodes(self_ptr self, engine::local_engine& engine, const std::vector<caf::actor>& nodes,
                      const std::vector<std::string>& endpoints, const memory_dialer& dial) {
  auto* tiers = engine.tier_store();
  auto* prefixes = engine.prefixes();
  if (!tiers && !prefixes) return;  // KV stays in device caches; nothing to share
  auto& st = self->state;
  std::vector<std::unique_ptr<storage::block_store>> fresh;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const auto& node = nodes[i];
    if (!node || st.memory_nodes.count(node.address())) continue;
    const bool remote = i < endpoints.size() && endpoints[i] != "in-process";
    if (dial && remote) dial(endpoints[i]);
    const std::string name = "memory node " + std::to_string(st.memory_nodes.size() + 1);
    auto for_tiers = tiers ? connect_node(self, node, name) : nullptr;
    // Shared prefix blocks are for other workers: an in-process tier (the embedded runtime's
    // one worker) would only copy what the prefix cache's own RAM holds.
    const bool share_prefixes = prefixes && remote;
    auto for_prefixes = share_prefixes ? connect_node(self, node, name + " (prefix cache)") : nullptr;
    if ((tiers && !for_tiers) || (share_prefixes && !for_prefixes)) continue;
    st.memory_nodes.insert(node.address());
    if (for_tiers) fresh.push_back(std::move(for_tiers));
    // Every worker labels a node alike: by the endpoint it announced.
    if (for_prefixes) add_to_prefix_level(self, *prefixes, endpoints[i], std::move(for_prefixes));
  }
  if (tiers) add_to_host_tier(self, *tiers, std::move(fresh));
}

// Raises every running job's per-node peak to the memory nodes' usage now, hands the peaks of
// the jobs that finished to their job_finished, and forgets the jobs that ended.
void record_memory_peaks(self_ptr self, step_report& report) {
  auto& peaks = self->state.memory_peaks;
  if (self->state.memory) {
    const auto usage = self->state.memory->node_usage();
    for (auto& [id, peak] : peaks) {
      peak.resize(std::max(peak.size(), usage.size()));
      for (size_t n = 0; n < usage.size(); ++n) peak[n] = std::max(peak[n], usage[n].bytes_used);
    }
  }
  for (auto& f : report.finished) {
    if (auto it = peaks.find(f.id.value); it != peaks.end()) {
      f.memory_node_peak_bytes = std::move(it->second);
      peaks.erase(it);
    }
  }
  for (const auto* ended : {&report.failed, &report.lost})
    for (const auto& f : *ended) peaks.erase(f.id.value);
}

}  // namespace

caf::behavior gpu_worker(caf::stateful_actor<gpu_worker_state>* self, engine::local_engine* engine,
                         memory_dialer dial_memory_node) {
  self->state.loop = std::make_unique<engine::step_loop>(*engine);
  self->state.peers.backend = &engine->backend();
  self->set_default_handler(caf::drop);  // never print a stray KV payload to stderr
  caf::message_handler steps{
      [self](step_plan& plan) -> step_report {
        auto& st = self->state;
        auto& loop = *st.loop;
        for (const auto& id : plan.cancelled) {
          loop.cancel(id);
          st.memory_peaks.erase(id.value);
        }
        std::vector<job_failed> refused;
        for (const auto& job : plan.joiners) {
          if (auto reason = loop.add(job))
            refused.push_back({job.id, *reason});
          else
            st.memory_peaks[job.id.value];
        }
        step_report report = loop.step();
        report.failed.insert(report.failed.end(), refused.begin(), refused.end());
        record_memory_peaks(self, report);
        report.kv = loop.kv_metrics();
        return report;
      },
      [self, engine](reset_jobs_atom) {
        // A fresh loop: the old one's jobs and their KV go with it.
        self->state.loop = std::make_unique<engine::step_loop>(*engine);
        self->state.memory_peaks.clear();
      },
      [self, engine, dial_memory_node](memory_nodes_atom, const std::vector<caf::actor>& nodes,
                                       const std::vector<std::string>& endpoints) {
        add_memory_nodes(self, *engine, nodes, endpoints, dial_memory_node);
      },
  };
  return steps.or_else(peer_link_handlers(self, &self->state.peers));
}

}  // namespace alisa::actors
