#pragma once
// tier_options — the tiered KV store's options (--policy, --device-kv-budget, --host-kv-budget,
// --nvme-dir, --nvme-kv-budget, --force-phase), validated once at start-up.
//
// Without a device budget the engine keeps each sequence's KV in one dense device cache (phase I,
// nothing tiered): that is the fast path for contexts that fit. With one, every sequence's KV goes
// through the tiered store (actors/tiered_kv_store.hpp).
#include <cstdint>
#include <optional>
#include <string>

#include "scheduler/kv_policy.hpp"

namespace alisa::engine {

struct tier_options {
  scheduler::kv_policy policy = scheduler::kv_policy::alisa;
  uint64_t device_budget = 0;  // bytes; 0 = untiered (dense per-sequence caches)
  uint64_t host_budget = 0;    // bytes; 0 = no host tier
  std::string nvme_dir;        // empty = no NVMe tier
  uint64_t nvme_budget = 0;    // bytes; required with nvme_dir
  int force_phase = 0;         // 0 = the cost model decides; 2 or 3 force that phase (tests, studies)
  // Bytes the NVMe tier buffers (RocksDB memtable, WAL off) before flushing to files; write errors
  // surface at a flush. Not a flag: tests lower it to see a failing disk quickly.
  uint64_t nvme_write_buffer = uint64_t{8} << 20;
  // A worker node's host tier is the cluster's memory nodes, attached after opening
  // (tiered_kv_store::use_host_store): validate() counts it as a host tier. Not a flag.
  bool host_from_memory_nodes = false;

  bool tiered() const { return device_budget > 0; }
  // A message naming the bad option, or nullopt.
  std::optional<std::string> validate() const;
};

}  // namespace alisa::engine
