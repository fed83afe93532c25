// cost_model — the per-tier fetch / recompute / offload formulas (cost_model.hpp has them written
// out).
#include "scheduler/cost_model.hpp"

#include <cassert>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "scheduler/number_text.hpp"

namespace alisa::scheduler {
namespace {

constexpr double k_bytes_per_gb = 1e9;
constexpr double k_inf = std::numeric_limits<double>::infinity();

// bytes / rate; an unmeasured (0) rate makes any non-empty move impossible rather than free.
double xfer_seconds(double bytes, double gbs) {
  if (bytes == 0) return 0;
  if (gbs <= 0) return k_inf;
  return bytes / (gbs * k_bytes_per_gb);
}

void require_rate(double value, const char* name) {
  // Negated so that NaN fails too.
  if (!(value >= 0 && std::isfinite(value))) {
    throw std::invalid_argument(std::string("measured_rates: ") + name +
                                " must be finite and >= 0, got " + format_number(value));
  }
}

[[maybe_unused]] bool geometry_is_usable(const kv_geometry& g) {
  return g.num_layers >= 1 && g.kv_row_bytes > 0 && g.kv_block_bytes > 0 &&
         g.device_slot_bytes > 0 && g.hidden_block_bytes > 0;
}

}  // namespace

void measured_rates::validate() const {
  require_rate(recompute_tokens_per_s, "recompute_tokens_per_s");
  require_rate(host_to_device_gbs, "host_to_device_gbs");
  require_rate(device_to_host_gbs, "device_to_host_gbs");
  require_rate(nvme_read_gbs, "nvme_read_gbs");
  require_rate(nvme_write_gbs, "nvme_write_gbs");
  require_rate(nvme_read_latency_s, "nvme_read_latency_s");
}

cost_model::cost_model(const kv_geometry& g, const measured_rates& r) : geometry_(g), rates_(r) {
  assert(geometry_is_usable(g));
}

double cost_model::load_seconds(kv_tier tier, double row_bytes, uint64_t block_bytes,
                                int64_t tokens, int64_t blocks_touched) const {
  assert(tokens >= 0 && blocks_touched >= 0);
  const double to_device = xfer_seconds(row_bytes * static_cast<double>(tokens),
                                        rates_.host_to_device_gbs);
  switch (tier) {
    case kv_tier::device: return 0;
    case kv_tier::host: return to_device;
    case kv_tier::nvme: {
      const auto blocks = static_cast<double>(blocks_touched);
      return blocks * rates_.nvme_read_latency_s +
             xfer_seconds(blocks * static_cast<double>(block_bytes), rates_.nvme_read_gbs) +
             to_device;
    }
    case kv_tier::dropped: break;
  }
  assert(false && "a dropped value cannot be loaded");
  return k_inf;
}

double cost_model::fetch_seconds(kv_tier tier, int64_t tokens, int64_t blocks_touched) const {
  if (tier == kv_tier::dropped) return recompute_seconds(tokens, kv_tier::host, blocks_touched);
  return load_seconds(tier, static_cast<double>(geometry_.kv_row_bytes), geometry_.kv_block_bytes,
                      tokens, blocks_touched);
}

double cost_model::recompute_seconds(int64_t tokens, kv_tier hidden_tier,
                                     int64_t blocks_touched) const {
  const double hidden_row_bytes =
      static_cast<double>(geometry_.hidden_block_bytes) / static_cast<double>(kv_block_tokens);
  const double load = load_seconds(hidden_tier, hidden_row_bytes, geometry_.hidden_block_bytes,
                                   tokens, blocks_touched);
  if (tokens == 0) return load;
  if (rates_.recompute_tokens_per_s <= 0) return k_inf;
  return load + static_cast<double>(tokens) / rates_.recompute_tokens_per_s;
}

double cost_model::offload_seconds(kv_tier tier) const {
  const auto block = static_cast<double>(geometry_.kv_block_bytes);
  switch (tier) {
    case kv_tier::device:
    case kv_tier::dropped: return 0;
    case kv_tier::host: return xfer_seconds(block, rates_.device_to_host_gbs);
    case kv_tier::nvme:
      return xfer_seconds(block, rates_.device_to_host_gbs) +
             xfer_seconds(block, rates_.nvme_write_gbs);
  }
  return k_inf;
}

}  // namespace alisa::scheduler
