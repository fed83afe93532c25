#include "cluster/tier_json.hpp"

namespace alisa::cluster {
namespace {

nlohmann::json tier_json(const tier_stats& s) {
  return {{"bytes_resident", s.bytes_resident},      {"peak_bytes_resident", s.peak_bytes_resident},
          {"tokens_loaded", s.tokens_loaded},        {"bytes_read", s.bytes_read},
          {"bytes_written", s.bytes_written},        {"hits", s.hits},
          {"misses", s.misses}};
}

nlohmann::json rates_json(const scheduler::measured_rates& r) {
  return {{"recompute_tokens_per_s", r.recompute_tokens_per_s},
          {"host_to_device_gbs", r.host_to_device_gbs},
          {"device_to_host_gbs", r.device_to_host_gbs},
          {"nvme_read_gbs", r.nvme_read_gbs},
          {"nvme_write_gbs", r.nvme_write_gbs},
          {"nvme_read_latency_us", r.nvme_read_latency_s * 1e6}};
}

nlohmann::json phases_json(const std::vector<engine::phase_change>& phases) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : phases)
    out.push_back({{"sequence", p.sequence}, {"at_length", p.length},
                   {"phase", std::string(to_string(p.phase))}});
  return out;
}

}  // namespace

nlohmann::json tier_report_json(const engine::tiered_kv_store& store,
                                const engine::tier_report& report, double total_ms,
                                double transfer_ms, double recompute_ms) {
  nlohmann::json tiers;
  for (int t = 0; t < num_kv_tiers; ++t)
    tiers[std::string(to_string(kv_tier(t)))] = tier_json(report.tiers[t]);
  const auto& o = store.options();
  const double moves = report.move_ms;
  return {{"policy", std::string(scheduler::to_string(o.policy))},
          {"budgets", {{"device_bytes", o.device_budget},
                       {"host_bytes", o.host_budget},
                       {"nvme_bytes", o.nvme_budget},
                       {"nvme_dir", o.nvme_dir}}},
          {"device_blocks", store.device_slots()},
          {"tiers", tiers},
          {"tokens_recomputed", report.tokens_recomputed},
          {"hidden_bytes_written", report.hidden_bytes_written},
          {"time_ms", {{"compute", std::max(0.0, total_ms - transfer_ms - moves - recompute_ms)},
                       {"transfer", transfer_ms + moves},
                       {"recompute", recompute_ms},
                       {"of_which_block_moves", moves}}},
          {"phases", phases_json(report.phases)},
          {"plan", report.plan_reason},
          {"peak_plan", report.peak_plan_reason},
          {"peak_plan_sequences", report.peak_plan_sequences},
          {"rates", rates_json(report.rates)},
          {"warnings", report.warnings}};
}

}  // namespace alisa::cluster
