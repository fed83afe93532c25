// kv_policy — the placement policy names (kv_policy.hpp has the contracts).
#include "scheduler/kv_policy.hpp"

#include <array>

namespace alisa::scheduler {
namespace {

struct named_policy {
  kv_policy policy;
  std::string_view name;
};

// The order is the one --help and error messages list.
constexpr std::array<named_policy, 3> k_policies = {{
    {kv_policy::alisa, "alisa"},
    {kv_policy::flexgen, "flexgen"},
    {kv_policy::vllm, "vllm"},
}};

}  // namespace

std::string_view to_string(kv_policy p) {
  for (const auto& entry : k_policies) {
    if (entry.policy == p) return entry.name;
  }
  return "unknown";
}

std::optional<kv_policy> parse_kv_policy(std::string_view name) {
  for (const auto& entry : k_policies) {
    if (entry.name == name) return entry.policy;
  }
  return std::nullopt;
}

std::string kv_policy_names() {
  std::string names;
  for (const auto& entry : k_policies) {
    if (!names.empty()) names += "|";
    names += entry.name;
  }
  return names;
}

}  // namespace alisa::scheduler
