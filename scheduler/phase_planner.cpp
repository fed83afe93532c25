// phase_planner — dispatch by policy, the shared capacities, and vllm's trivial plan. The alisa
// rules are in alisa_plan.cpp, flexgen's in flexgen_plan.cpp (phase_planner.hpp has them all).
#include "scheduler/phase_planner.hpp"

#include <cassert>

namespace alisa::scheduler {

phase_planner::phase_planner(const planner_options& o, const kv_geometry& g,
                             const measured_rates& r)
    : options_(o), costs_(g, r) {
  // The caller validated at start-up; checking again is cheap, and a bad planner must not exist.
  o.validate();
  r.validate();
}

batch_plan phase_planner::plan(std::span<const sequence_demand> demands) {
  for ([[maybe_unused]] const auto& d : demands) {
    assert(d.length >= 0 && d.length <= d.final_length);
  }
  switch (options_.policy) {
    case kv_policy::alisa: return plan_alisa(demands);
    case kv_policy::flexgen: return plan_flexgen(demands);
    case kv_policy::vllm: return plan_vllm(demands);
  }
  assert(false && "validate() admits only the policies above");
  return {};
}

std::optional<uint64_t> phase_planner::device_pool_blocks() const {
  if (options_.budgets.device_bytes == 0) return std::nullopt;
  return per_layer(options_.budgets.device_bytes / costs_.geometry().device_slot_bytes);
}

batch_plan phase_planner::plan_vllm(std::span<const sequence_demand> demands) const {
  batch_plan out;
  for (const auto& d : demands) out.sequences.push_back({.sequence = d.sequence});
  out.reason = "vllm: all KV on device (phase I); paged admission preempts when the pool runs out";
  return out;
}

}  // namespace alisa::scheduler
