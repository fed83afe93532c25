#include "engine/tier_options.hpp"

namespace alisa::engine {

std::optional<std::string> tier_options::validate() const {
  if (!tiered() && (host_budget > 0 || !nvme_dir.empty() || force_phase != 0))
    return "--host-kv-budget, --nvme-dir and --force-phase need --device-kv-budget";
  if (!tiered() && policy != scheduler::kv_policy::alisa)
    return "--policy " + std::string(scheduler::to_string(policy)) + " needs --device-kv-budget";
  if (!nvme_dir.empty() && nvme_budget == 0) return "--nvme-dir needs --nvme-kv-budget";
  if (nvme_dir.empty() && nvme_budget > 0) return "--nvme-kv-budget needs --nvme-dir";
  if (force_phase != 0 && force_phase != 2 && force_phase != 3)
    return "--force-phase must be 2 or 3 (got " + std::to_string(force_phase) + ")";
  if (force_phase != 0 && policy != scheduler::kv_policy::alisa)
    return "--force-phase applies to --policy alisa only";
  if (force_phase == 2 && host_budget == 0 && nvme_dir.empty() && !host_from_memory_nodes)
    return "--force-phase 2 needs a host or NVMe tier to offload to";
  if (policy == scheduler::kv_policy::vllm && (host_budget > 0 || !nvme_dir.empty()))
    return "--policy vllm keeps KV on the device only (no --host-kv-budget / --nvme-dir)";
  return std::nullopt;
}

}  // namespace alisa::engine
