#pragma once
// cost_model — what it costs, in seconds, to bring KV rows to the device from each tier, to
// recompute them from stored hidden states, and to move a block off the device. The per-tier
// reconstruction of alisa-algorithm.md §4.4: ALISA's T_m (bytes over the CPU-GPU bandwidth) and
// T_r (recompute time from an offline profile), with an NVMe tier and measured rates instead of a
// lookup table. Pure arithmetic: the rates are measured once at start-up by whoever owns the
// device and the stores, and passed in.
//
// Units: bytes; rates in GB/s with GB = 1e9 bytes; seconds. Everything is per layer, because KV is
// scheduled layer by layer (§4.2). Let
//   xfer(bytes, rate) = bytes / (rate * 1e9), 0 when bytes == 0, +inf when rate == 0
//   row    = kv_row_bytes,            block    = kv_block_bytes
//   h_row  = hidden_block_bytes / kv_block_tokens,  h_block = hidden_block_bytes
//   t      = tokens,                  b        = blocks_touched (stored values read)
// then
//   fetch(device)  = 0
//   fetch(host)    = xfer(t * row, host_to_device)
//   fetch(nvme)    = b * nvme_read_latency + xfer(b * block, nvme_read) + xfer(t * row, host_to_device)
//                    (NVMe reads whole blocks; only the selected rows cross to the device)
//   fetch(dropped) = recompute(t, host, b)   (hidden states are kept in host RAM by default)
//   recompute(t, hidden_tier, b) = load_hidden + t / recompute_tokens_per_s, with load_hidden the
//                    fetch formula above over h_row / h_block (0 for hidden states on device)
//   offload(host)  = xfer(block, device_to_host)
//   offload(nvme)  = xfer(block, device_to_host) + xfer(block, nvme_write)
//   offload(device) = offload(dropped) = 0   (dropping deletes; the hidden states were written
//                    when the rows were computed)
// A rate of 0 means "not measured / tier absent": anything that needs it costs +inf, so a planner
// comparing costs never picks it (and two +inf costs compare equal).
//
// Thread affinity: immutable after construction; any thread.
#include <cstdint>

#include "proto/kv_tier.hpp"

namespace alisa::scheduler {

// Geometry of one layer's KV for one block of kv_block_tokens tokens (proto/kv_tier.hpp).
struct kv_geometry {
  int num_layers = 0;
  int kv_dim = 0;                   // num_kv_heads * head_dim
  int hidden_size = 0;              // width of the hidden state rows recomputation starts from
  uint64_t kv_row_bytes = 0;        // K+V bytes of one token of one layer as stored off device
  uint64_t kv_block_bytes = 0;      // K+V bytes of one block of one layer off device (+ int8 stats)
  uint64_t device_slot_bytes = 0;   // bytes one block of one layer takes in the device pool
  uint64_t hidden_block_bytes = 0;  // one block of hidden states of one layer (fp32)
};

// Rates measured at start-up (never hard-coded; a 0 means "not measured / tier absent").
struct measured_rates {
  double recompute_tokens_per_s = 0;  // K and V projections (+RoPE) of one layer, tokens per second
  double host_to_device_gbs = 0;      // copy bandwidth, GB = 1e9 bytes
  double device_to_host_gbs = 0;
  double nvme_read_gbs = 0;
  double nvme_write_gbs = 0;
  double nvme_read_latency_s = 0;     // per value read (a block), seconds

  // Throws std::invalid_argument naming the first rate that is negative or not finite.
  void validate() const;
};

class cost_model {
 public:
  // Preconditions: g has num_layers >= 1 and non-zero row, block, slot and hidden block sizes;
  // r.validate() passes.
  cost_model(const kv_geometry& g, const measured_rates& r);

  // Seconds to bring `tokens` token rows of one layer from `tier` to the device for attention.
  // Preconditions: tokens >= 0, blocks_touched >= 0.
  double fetch_seconds(kv_tier tier, int64_t tokens, int64_t blocks_touched) const;
  // Seconds to recompute `tokens` rows of one layer whose hidden states are in `hidden_tier`
  // (never dropped). Preconditions as fetch_seconds.
  double recompute_seconds(int64_t tokens, kv_tier hidden_tier, int64_t blocks_touched) const;
  // Seconds to move one block of one layer off the device into `tier`.
  double offload_seconds(kv_tier tier) const;

  const kv_geometry& geometry() const { return geometry_; }
  const measured_rates& rates() const { return rates_; }

 private:
  // Seconds to read `tokens` rows of `row_bytes` (in values of `block_bytes`) from `tier`.
  double load_seconds(kv_tier tier, double row_bytes, uint64_t block_bytes, int64_t tokens,
                      int64_t blocks_touched) const;

  kv_geometry geometry_;
  measured_rates rates_;
};

}  // namespace alisa::scheduler
