#pragma once
// kv_policy — who decides where a sequence's KV blocks live: ALISA's three-phase scheduler or one
// of the system baselines it is compared against (alisa-algorithm.md §3 "System baselines", §4).
//   alisa    newest blocks on device, older ones in host RAM, then NVMe, the oldest dropped and
//            recomputed from hidden states when a step selects them; phases chosen by capacity
//            and by the measured cost of fetching versus recomputing (phase_planner.hpp).
//   flexgen  FlexGen: one static device/host/NVMe percentage split, fixed for the workload;
//            never drops, never recomputes.
//   vllm     vLLM: paged KV all on device; when the pool runs out, the latest admitted sequences
//            are preempted and later recomputed from their tokens (paged_admission.hpp).
#include <optional>
#include <string>
#include <string_view>

namespace alisa::scheduler {

enum class kv_policy { alisa, flexgen, vllm };

std::string_view to_string(kv_policy p);
// Accepts the names above; nullopt for anything else.
std::optional<kv_policy> parse_kv_policy(std::string_view name);
// "alisa|flexgen|vllm": for error messages and --help.
std::string kv_policy_names();

}  // namespace alisa::scheduler
