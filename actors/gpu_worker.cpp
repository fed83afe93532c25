#include "actors/gpu_worker.hpp"

#include <caf/event_based_actor.hpp>

#include <iostream>

#include "actors/remote_block_store.hpp"
#include "actors/runtime_atoms.hpp"
#include "actors/spread_block_store.hpp"
#include "proto/caf_messages.hpp"

namespace alisa::actors {
namespace {

using self_ptr = caf::stateful_actor<gpu_worker_state>*;

// Adds the memory tiers not seen before to the engine's host tier.
void add_memory_nodes(self_ptr self, engine::local_engine& engine, const std::vector<caf::actor>& nodes,
                      const std::vector<std::string>& endpoints, const memory_dialer& dial) {
  auto* tiers = engine.tier_store();
  if (!tiers) return;  // untiered engine: every sequence's KV stays in its device cache
  auto& st = self->state;
  std::vector<std::unique_ptr<storage::block_store>> fresh;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const auto& node = nodes[i];
    if (!node || st.memory_nodes.count(node.address())) continue;
    if (dial && i < endpoints.size() && endpoints[i] != "in-process") dial(endpoints[i]);
    remote_block_store_options o;
    o.name = "memory node " + std::to_string(st.memory_nodes.size() + 1);
    auto store = connect_remote_block_store(self->system(), node, o);
    if (!store.ok()) {
      std::cerr << "alisa: worker: " << o.name << " unusable: " << store.status().message() << "\n";
      continue;
    }
    st.memory_nodes.insert(node.address());
    fresh.push_back(std::move(*store));
  }
  if (fresh.empty()) return;
  if (!st.memory) {
    auto spread = std::make_unique<spread_block_store>(std::move(fresh));
    st.memory = spread.get();
    tiers->use_host_store(std::move(spread));
    return;
  }
  for (auto& store : fresh) st.memory->add_store(std::move(store));
  tiers->refresh_host_budget();
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
