// alisa_plan — ALISA's placement rules: the device share, where hidden states go, host then NVMe
// shares, and drops by capacity and by cost (phase_planner.hpp, "alisa", has the rules).
#include <algorithm>
#include <cassert>
#include <climits>
#include <cmath>
#include <numeric>

#include "scheduler/fair_share.hpp"
#include "scheduler/number_text.hpp"
#include "scheduler/phase_planner.hpp"
#include "scheduler/plan_text.hpp"

namespace alisa::scheduler {
namespace {

// Whether a tier keeps the KV of a sequence's blocks, or they are dropped in its stead.
struct keep_rule {
  bool host = true;
  bool nvme = true;
};

// One sequence while its plan is worked out. Counts are blocks per layer, bytes per layer.
struct working {
  uint64_t full = 0;    // full blocks at final length
  uint64_t device = 0;  // device blocks (may exceed full: all fit)
  uint64_t off = 0;     // full blocks beyond the device share
  bool hidden = false;  // store_hidden
  kv_tier hidden_tier = kv_tier::host;
  bool hidden_homeless = false;  // no tier share holds the hidden states
  keep_rule keep;
  uint64_t host = 0;
  uint64_t nvme = 0;
  uint64_t overflow = 0;  // force_phase 2: blocks placed beyond the shares
};

// What every per-sequence step needs.
struct context {
  const cost_model& costs;
  const planner_options& options;
  int selected = 1;  // expected selected tokens per off-device block
  uint64_t kv = 0;   // kv_block_bytes
  uint64_t hid = 0;  // hidden_block_bytes
  bool has_host = false;
  bool has_nvme = false;
};

int selected_per_block(double attended_fraction) {
  return std::max(1, static_cast<int>(std::lround(attended_fraction * kv_block_tokens)));
}

double recompute_seconds(const context& c, kv_tier hidden_tier) {
  return c.costs.recompute_seconds(c.selected, hidden_tier, 1);
}

double fetch_seconds(const context& c, kv_tier tier) {
  return c.costs.fetch_seconds(tier, c.selected, 1);
}

// Ties keep the KV: storing is the default that needs no recompute.
keep_rule keep_for(const context& c, kv_tier hidden_tier) {
  if (c.options.force_phase == 2) return {true, true};
  if (c.options.force_phase == 3) return {false, false};
  const double recompute = recompute_seconds(c, hidden_tier);
  return {fetch_seconds(c, kv_tier::host) <= recompute,
          fetch_seconds(c, kv_tier::nvme) <= recompute};
}

// Device blocks per sequence. Forced phases keep one; otherwise a fair share of what the open
// blocks leave (everything when the pool has no limit or all fits).
std::vector<uint64_t> split_device(const std::vector<uint64_t>& full, std::optional<uint64_t> pool,
                                   int force_phase) {
  if (force_phase != 0) return std::vector<uint64_t>(full.size(), 1);
  if (!pool) return full;
  const uint64_t open = full.size();
  return fair_shares(full, *pool > open ? *pool - open : 0);
}

working start(uint64_t full, uint64_t device, const context& c) {
  working w;
  w.full = full;
  w.device = device;
  w.off = full - std::min(full, device);
  w.hidden = w.off > 0 && c.options.force_phase != 2;
  w.keep = keep_for(c, kv_tier::host);
  return w;
}

// Bytes of host RAM the sequence could use: its hidden states and every off-device block kept.
uint64_t host_need(const working& w, const context& c) {
  return (w.hidden ? w.off * c.hid : 0) + (w.keep.host ? w.off * c.kv : 0);
}

// Hidden states first (recompute reads them over the fast link), KV in what is left.
void place_host(working& w, uint64_t share, const context& c) {
  uint64_t left = share;
  if (w.hidden && w.off * c.hid <= share) {
    left -= w.off * c.hid;
  } else if (w.hidden) {
    w.hidden_tier = c.has_nvme ? kv_tier::nvme : kv_tier::host;
    w.hidden_homeless = !c.has_nvme;
    w.keep = keep_for(c, w.hidden_tier);
  }
  w.host = w.keep.host ? std::min(w.off, left / c.kv) : 0;
}

uint64_t nvme_need(const working& w, const context& c) {
  const bool hidden_here = w.hidden && w.hidden_tier == kv_tier::nvme;
  return (hidden_here ? w.off * c.hid : 0) + (w.keep.nvme ? (w.off - w.host) * c.kv : 0);
}

void place_nvme(working& w, uint64_t share, const context& c) {
  uint64_t left = share;
  if (w.hidden && w.hidden_tier == kv_tier::nvme) {
    w.hidden_homeless = w.off * c.hid > share;
    left = w.hidden_homeless ? 0 : left - w.off * c.hid;
  }
  w.nvme = w.keep.nvme ? std::min(w.off - w.host, left / c.kv) : 0;
}

// force_phase 2 never drops: what the shares cannot hold goes to the last tier present.
void spill_rest(working& w, const context& c) {
  if (c.options.force_phase != 2) return;
  w.overflow = w.off - w.host - w.nvme;
  if (c.has_nvme) {
    w.nvme += w.overflow;
  } else {
    w.host += w.overflow;
  }
}

sequence_plan to_plan(const working& w, uint64_t sequence, int force_phase) {
  sequence_plan p;
  p.sequence = sequence;
  const bool all_fit = force_phase == 0 && w.device >= w.full;
  p.device_blocks = all_fit ? INT_MAX : static_cast<int>(w.device);
  p.host_blocks = static_cast<int>(w.host);
  p.nvme_blocks = static_cast<int>(w.nvme);
  p.store_hidden = w.hidden;
  p.hidden_tier = w.hidden_tier;
  p.phase = p.phase_at(static_cast<int>(w.full));
  return p;
}

std::string per_token(double block_seconds, const context& c) {
  return format_fixed(block_seconds / c.selected * 1e6, 2) + " us/token";
}

// "fetching selected host tokens (0.80 us/token) beats recompute (3.10 us/token)", or reversed.
std::string compare_phrase(const context& c, kv_tier tier) {
  const double fetch = fetch_seconds(c, tier);
  const double recompute = recompute_seconds(c, kv_tier::host);
  const std::string f = "fetching selected " + std::string(to_string(tier)) + " tokens (" +
                        per_token(fetch, c) + ")";
  const std::string r = "recompute (" + per_token(recompute, c) + ")";
  return fetch <= recompute ? f + " beats " + r : r + " beats " + f;
}

std::string device_phrase(std::optional<uint64_t> pool, const std::vector<uint64_t>& full) {
  const uint64_t wanted = std::accumulate(full.begin(), full.end(), uint64_t{0});
  const std::string tail = std::to_string(wanted) + " full blocks/layer wanted at final length";
  if (!pool) return "device unlimited for " + tail;
  return "device " + std::to_string(*pool) + " blocks/layer (" + std::to_string(full.size()) +
         " open) for " + tail;
}

// Why some tier is over budget, or empty when none is.
std::string over_budget_phrase(const std::vector<working>& ws, std::optional<uint64_t> pool) {
  std::string notes;
  if (pool && *pool < ws.size()) add_note(notes, "device pool smaller than the open blocks");
  const auto homeless = std::count_if(ws.begin(), ws.end(),
                                      [](const working& w) { return w.hidden_homeless; });
  if (homeless > 0) add_note(notes, std::to_string(homeless) + " sequence(s)' hidden states fit no tier share");
  const auto spilled = std::count_if(ws.begin(), ws.end(),
                                     [](const working& w) { return w.overflow > 0; });
  if (spilled > 0) add_note(notes, std::to_string(spilled) + " sequence(s) offload beyond the tier shares");
  return notes;
}

std::string alisa_reason(const context& c, const std::vector<working>& ws,
                         const batch_plan& out, const std::string& device) {
  std::string reason = "alisa";
  if (c.options.force_phase != 0) reason += " (forced phase " + std::to_string(c.options.force_phase) + ")";
  reason += ": " + device + "; " + phases_phrase(out.sequences);
  const bool offloads = std::any_of(ws.begin(), ws.end(), [](const working& w) { return w.off > 0; });
  if (offloads && c.options.force_phase == 0) {
    if (c.has_host) reason += "; " + compare_phrase(c, kv_tier::host);
    if (c.has_nvme) reason += "; " + compare_phrase(c, kv_tier::nvme);
  }
  return reason;
}

}  // namespace

batch_plan phase_planner::plan_alisa(std::span<const sequence_demand> demands) const {
  const tier_budgets& b = options_.budgets;
  const context c{costs_,
                  options_,
                  selected_per_block(options_.attended_fraction),
                  costs_.geometry().kv_block_bytes,
                  costs_.geometry().hidden_block_bytes,
                  per_layer(b.host_bytes) > 0,
                  per_layer(b.nvme_bytes) > 0};
  std::vector<uint64_t> full;
  for (const auto& d : demands) full.push_back(static_cast<uint64_t>(full_blocks(d.final_length)));
  const auto device = split_device(full, device_pool_blocks(), options_.force_phase);

  std::vector<working> ws;
  std::vector<uint64_t> needs;
  for (size_t i = 0; i < full.size(); ++i) ws.push_back(start(full[i], device[i], c));
  for (const auto& w : ws) needs.push_back(host_need(w, c));
  const auto host_shares = fair_shares(needs, per_layer(b.host_bytes));
  for (size_t i = 0; i < ws.size(); ++i) place_host(ws[i], host_shares[i], c);
  for (size_t i = 0; i < ws.size(); ++i) needs[i] = nvme_need(ws[i], c);
  const auto nvme_shares = fair_shares(needs, per_layer(b.nvme_bytes));
  for (size_t i = 0; i < ws.size(); ++i) place_nvme(ws[i], nvme_shares[i], c);
  for (auto& w : ws) spill_rest(w, c);

  batch_plan out;
  for (size_t i = 0; i < ws.size(); ++i) {
    out.sequences.push_back(to_plan(ws[i], demands[i].sequence, options_.force_phase));
  }
  out.reason = alisa_reason(c, ws, out, device_phrase(device_pool_blocks(), full));
  const std::string over = over_budget_phrase(ws, device_pool_blocks());
  out.over_budget = !over.empty();
  if (out.over_budget) out.reason += "; over budget: " + over;
  return out;
}

}  // namespace alisa::scheduler
