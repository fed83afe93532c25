#pragma once
// phase_planner — the per-sequence KV placement plan (sequence_plan.hpp) for a batch, under one
// kv_policy, re-planned online: the coordinator calls plan() whenever the batch changes or a
// sequence completes a block. This is ALISA's offline p1/p2/alpha/beta search (alisa-algorithm.md
// §4.4) turned into a runtime rule over measured rates and live demands (§6 item 2).
//
// Capacities, all per layer (a plan is the same for every layer):
//   D       = device_bytes / device_slot_bytes / num_layers   device blocks (device_bytes 0: no limit)
//   host    = host_bytes / num_layers   bytes (0: no host tier)
//   nvme    = nvme_bytes / num_layers   bytes (0: no NVMe tier)
// Every sequence keeps its open block on device, so D - n blocks (n = sequences) remain for full
// blocks. Demands are sized from final_length, not length, so a plan stays the same as its
// sequences grow and changes only when the batch does. Splits between sequences are max-min fair
// (fair_share.hpp): equal shares, except that a sequence needing less leaves the rest to others.
//
// alisa (force_phase 0)
//   1. Device: if every sequence's final full blocks fit in D - n, all are phase I
//      (device_blocks = INT_MAX). Otherwise each gets its fair share of D - n, newest blocks first:
//      the SWA local window lives there, while the globally selected tokens move every step (§4.1).
//   2. Off-device blocks (O per sequence) need their hidden states kept (store_hidden), so that
//      dropped blocks - and failed loads - can be recomputed. They go to host RAM if the
//      sequence's host share holds them (recompute then reads them over the fast link), else to
//      NVMe if its NVMe share does, else the plan is over budget.
//   3. What is left of the host share holds the newest off-device blocks, then the NVMe share the
//      next ones; the oldest rest are dropped (phase III forced by capacity).
//   4. Cost (cost_model.hpp), per block with k = max(1, round(attended_fraction * kv_block_tokens))
//      selected tokens: if recomputing them (hidden states in their tier) is cheaper than fetching
//      them from NVMe, NVMe holds no KV of the sequence and those blocks are dropped instead; the
//      same for host (phase III chosen by cost). Ties keep the KV.
//   Phase = I without off-device blocks at final length, III with any dropped, II otherwise.
// alisa, force_phase 2: device_blocks = 1; every older block to host, then NVMe (the remainder to
//   the last tier present, flagged over budget); nothing dropped, no hidden states kept.
// alisa, force_phase 3: device_blocks = 1, host_blocks = nvme_blocks = 0: every older block is
//   dropped and recomputed; hidden states placed as in step 2.
// flexgen: one static split (device, host, nvme shares of every sequence's full blocks), fixed at
//   the first plan() with a non-empty batch: device = min(1, (D - n) / T), host = min(1 - device,
//   host / block / T), nvme = the rest, T = the batch's final full blocks (FlexGen solves its split
//   offline for the workload and splits by attention head; here by block, in the same proportion).
//   A sequence with F final full blocks gets floor(device * F) device blocks and
//   floor((device + host) * F) - that many host blocks; NVMe the rest. Never drops, keeps no
//   hidden states. Without an NVMe tier, host takes NVMe's share (noted in the reason); shares the
//   tiers cannot hold (later batches may be larger) are flagged over budget.
// vllm: everything on device, phase I; running out is paged_admission's job (preemption).
//
// Thread affinity: one planner per coordinator, one thread at a time. Pure: no I/O.
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "scheduler/cost_model.hpp"
#include "scheduler/kv_policy.hpp"
#include "scheduler/sequence_plan.hpp"

namespace alisa::scheduler {

struct tier_budgets {
  uint64_t device_bytes = 0;  // device KV pool (0 = unlimited)
  uint64_t host_bytes = 0;    // host RAM store (0 = no host tier)
  uint64_t nvme_bytes = 0;    // RocksDB store (0 = no nvme tier)
};

struct planner_options {
  kv_policy policy = kv_policy::alisa;
  tier_budgets budgets;
  // Expected share of a sequence's older tokens a step attends: 1 - sparsity for SWA, 1 for
  // dense. In (0, 1].
  double attended_fraction = 1.0;
  // 0 = choose by cost; 2 or 3 force that phase (alisa only; for tests and studies).
  int force_phase = 0;
  // FlexGen's static split: both < 0 = derived from budgets and the first batch; otherwise both
  // in [0, 1] with a sum <= 1 (NVMe gets the rest). flexgen only.
  double flexgen_device_share = -1;
  double flexgen_host_share = -1;

  // Throws std::invalid_argument naming the first bad option.
  void validate() const;
};

// Shares of every sequence's full blocks per tier (flexgen); they sum to 1.
struct static_split {
  double device = 1;
  double host = 0;
  double nvme = 0;
};

struct batch_plan {
  std::vector<sequence_plan> sequences;  // same order as the demands
  // One line: why these phases ("alisa: device 120 of 164 blocks/layer wanted; ...").
  std::string reason;
  // Some tier must hold more than its budget for this plan; the reason says which. The coordinator
  // should shrink the batch (running out is a return value, not an error).
  bool over_budget = false;
};

class phase_planner {
 public:
  // Throws std::invalid_argument when o or r is invalid. Precondition: g as cost_model requires.
  phase_planner(const planner_options& o, const kv_geometry& g, const measured_rates& r);

  // Plans every active sequence. Precondition: 0 <= length <= final_length for each demand.
  batch_plan plan(std::span<const sequence_demand> demands);

  const cost_model& costs() const { return costs_; }
  const planner_options& options() const { return options_; }
  // flexgen's split once the first non-empty plan() fixed it; nullopt before, and for the others.
  const std::optional<static_split>& flexgen_split() const { return split_; }

 private:
  batch_plan plan_alisa(std::span<const sequence_demand> demands) const;
  batch_plan plan_flexgen(std::span<const sequence_demand> demands);
  batch_plan plan_vllm(std::span<const sequence_demand> demands) const;
  void fix_flexgen_split(std::span<const sequence_demand> demands);
  // Which tiers a flexgen plan overfills (blocks per layer), or empty.
  std::string flexgen_over_budget(size_t num_sequences, uint64_t on_device, uint64_t in_host,
                                  uint64_t in_nvme) const;

  // D above: device blocks per layer; nullopt = no limit.
  std::optional<uint64_t> device_pool_blocks() const;
  uint64_t per_layer(uint64_t bytes) const { return bytes / costs_.geometry().num_layers; }

  planner_options options_;
  cost_model costs_;
  std::optional<static_split> split_;
  std::string split_note_;  // how the split was fixed, for every flexgen reason
};

}  // namespace alisa::scheduler
