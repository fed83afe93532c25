// paged_admission — preempt latest-admitted-first, resume FCFS (paged_admission.hpp).
#include "scheduler/paged_admission.hpp"

#include <cassert>

namespace alisa::scheduler {

paged_admission::paged_admission(int total_blocks_per_layer)
    : total_blocks_(total_blocks_per_layer) {
  assert(total_blocks_per_layer >= 0);
}

int paged_admission::blocks_for(int tokens) {
  assert(tokens >= 0);
  return (tokens + kv_block_tokens - 1) / kv_block_tokens;
}

paged_admission::decision paged_admission::before_step(
    std::span<const sequence_demand> running, std::span<const sequence_demand> waiting) const {
  decision out;
  int64_t used = 0;
  for (const auto& s : running) used += step_blocks(s);
  size_t kept = running.size();
  while (used > total_blocks_ && kept > 1) {
    --kept;
    used -= step_blocks(running[kept]);
    out.preempt.push_back(running[kept].sequence);
  }
  if (used > total_blocks_) {
    out.cannot_fit = true;
    return out;
  }
  if (!out.preempt.empty()) return out;
  for (const auto& s : waiting) {
    if (used + step_blocks(s) > total_blocks_) {
      out.cannot_fit = running.empty() && out.resume.empty();
      break;
    }
    used += step_blocks(s);
    out.resume.push_back(s.sequence);
  }
  return out;
}

}  // namespace alisa::scheduler
