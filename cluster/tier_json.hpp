#pragma once
// tier_json — the tiered store's report as JSON for `run --json` and `bench decode --json`:
// per tier bytes resident (final and peak), tokens loaded, bytes read/written, hits/misses;
// tokens recomputed; time split; each sequence's phase over time; the measured rates.
#include <nlohmann/json.hpp>

#include "engine/tiered_kv_store.hpp"

namespace alisa::cluster {

// total_ms: the wall time of the steps measured; transfer_ms / recompute_ms: the runner's counters
// over the same steps. Block moves between tiers (report.move_ms) count as transfer.
nlohmann::json tier_report_json(const engine::tiered_kv_store& store,
                                const engine::tier_report& report, double total_ms,
                                double transfer_ms, double recompute_ms);

}  // namespace alisa::cluster
