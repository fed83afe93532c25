// flexgen_plan — FlexGen's static percentage split: fixed once for the workload, applied to every
// sequence's blocks, never dropping (phase_planner.hpp, "flexgen", has the rules).
#include <algorithm>
#include <climits>
#include <cmath>
#include <numeric>

#include "scheduler/number_text.hpp"
#include "scheduler/phase_planner.hpp"
#include "scheduler/plan_text.hpp"

namespace alisa::scheduler {
namespace {

// Shares are doubles; this slack keeps 0.7 + 0.3 from flooring 10 blocks to 9.
constexpr double k_share_slack = 1e-9;

uint64_t total_full_blocks(std::span<const sequence_demand> demands) {
  uint64_t total = 0;
  for (const auto& d : demands) total += static_cast<uint64_t>(full_blocks(d.final_length));
  return total;
}

double ratio(uint64_t capacity, uint64_t total) {
  return std::min(1.0, static_cast<double>(capacity) / static_cast<double>(total));
}

int floor_share(double share, int blocks) {
  return static_cast<int>(std::floor(share * blocks + k_share_slack));
}

// Cumulative rounding, so the three counts always add up to `full`.
sequence_plan apply_split(const static_split& s, uint64_t sequence, int full) {
  sequence_plan p;
  p.sequence = sequence;
  if (s.device + k_share_slack >= 1) return p;  // phase I: device_blocks = INT_MAX
  const int up_to_host = std::min(full, floor_share(s.device + s.host, full));
  p.device_blocks = floor_share(s.device, full);
  p.host_blocks = up_to_host - p.device_blocks;
  p.nvme_blocks = full - up_to_host;
  p.phase = p.phase_at(full);
  return p;
}

std::string percent(double share) { return format_fixed(share * 100, 1) + "%"; }

}  // namespace

void phase_planner::fix_flexgen_split(std::span<const sequence_demand> demands) {
  if (split_ || demands.empty()) return;
  const uint64_t total = total_full_blocks(demands);
  static_split s;
  if (!(options_.flexgen_device_share < 0)) {
    s.device = options_.flexgen_device_share;
    s.host = options_.flexgen_host_share;
    split_note_ = "given";
  } else if (total > 0) {
    const auto pool = device_pool_blocks();
    const uint64_t open = demands.size();
    s.device = !pool ? 1.0 : ratio(*pool > open ? *pool - open : 0, total);
    const uint64_t host_blocks = per_layer(options_.budgets.host_bytes) /
                                 costs_.geometry().kv_block_bytes;
    s.host = std::min(1 - s.device, ratio(host_blocks, total));
    split_note_ = "derived from the first batch's " + std::to_string(total) + " full blocks/layer";
  } else {
    split_note_ = "the first batch has no full blocks";
  }
  s.nvme = std::max(0.0, 1 - s.device - s.host);
  if (s.nvme > k_share_slack && per_layer(options_.budgets.nvme_bytes) == 0) {
    s.host += s.nvme;
    s.nvme = 0;
    split_note_ += "; no nvme tier: host takes nvme's share";
  }
  split_ = s;
}

batch_plan phase_planner::plan_flexgen(std::span<const sequence_demand> demands) {
  fix_flexgen_split(demands);
  batch_plan out;
  if (!split_) {
    out.reason = "flexgen: no sequences; the split is fixed at the first non-empty batch";
    return out;
  }
  uint64_t on_device = 0, in_host = 0, in_nvme = 0;
  for (const auto& d : demands) {
    const int full = full_blocks(d.final_length);
    out.sequences.push_back(apply_split(*split_, d.sequence, full));
    const auto& p = out.sequences.back();
    on_device += static_cast<uint64_t>(std::min(full, p.device_blocks));
    in_host += static_cast<uint64_t>(p.host_blocks);
    in_nvme += static_cast<uint64_t>(p.nvme_blocks);
  }
  const static_split& s = *split_;
  out.reason = "flexgen: static split device " + percent(s.device) + " / host " + percent(s.host) +
               " / nvme " + percent(s.nvme) + " (" + split_note_ + "); " +
               phases_phrase(out.sequences);
  const std::string over = flexgen_over_budget(demands.size(), on_device, in_host, in_nvme);
  out.over_budget = !over.empty();
  if (out.over_budget) out.reason += "; over budget: " + over;
  return out;
}

std::string phase_planner::flexgen_over_budget(size_t num_sequences, uint64_t on_device,
                                               uint64_t in_host, uint64_t in_nvme) const {
  std::string notes;
  const auto pool = device_pool_blocks();
  if (pool && on_device + num_sequences > *pool) {
    add_note(notes, "device needs " + std::to_string(on_device + num_sequences) + " of " +
                        std::to_string(*pool) + " blocks/layer");
  }
  const uint64_t block = costs_.geometry().kv_block_bytes;
  if (in_host * block > per_layer(options_.budgets.host_bytes)) {
    add_note(notes, "host needs " + std::to_string(in_host) + " blocks/layer");
  }
  if (in_nvme * block > per_layer(options_.budgets.nvme_bytes)) {
    add_note(notes, "nvme needs " + std::to_string(in_nvme) + " blocks/layer");
  }
  return notes;
}

}  // namespace alisa::scheduler
