#pragma once
// rate_probe — the cost model's rates, measured at start-up on this machine (never hard-coded):
// the backend's K/V projection rate (what recomputing one token of one layer costs), its
// host<->device copy bandwidth, and the NVMe store's write/read bandwidth and read latency.
// Takes ~0.1–0.5 s; the figures go into every --json report.
#include "gpu/backend.hpp"
#include "model/model_config.hpp"
#include "scheduler/cost_model.hpp"
#include "storage/block_store.hpp"

namespace alisa::engine {

// nvme: the NVMe store to probe (nullptr: no NVMe tier, its rates stay 0). block_bytes: the size
// of one stored KV block, the unit the NVMe tier reads and writes.
scheduler::measured_rates measure_rates(gpu::backend& be, const model::model_config& config,
                                        dtype weight_type, storage::block_store* nvme,
                                        size_t block_bytes);

}  // namespace alisa::engine
