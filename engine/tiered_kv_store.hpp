#pragma once
// tiered_kv_store — KV (and the hidden states recomputation starts from) across the device pool,
// host RAM and NVMe, placed by the scheduler's phase planner and re-planned online.
//
//   write (forward pass) ──> open block in a device slot ──(block complete)──> re-plan
//   re-plan: phase_planner → per-sequence target tier per full block → move_block()
//   gather (forward pass): device slot rows | host/NVMe rows (token-granular copy) | recompute
//
// A block is kv_block_tokens positions of one layer of one sequence. The open (partly filled)
// block is always on the device. Full blocks move by plan: newest on the device, then host,
// NVMe, and (phase III) dropped — K/V deleted, hidden states kept. A block whose load fails
// (missing, checksum mismatch, I/O error) is recomputed from its hidden states instead; a store
// that fails a write is reported once as a warning and no longer written (the block stays where it
// was or is dropped for recompute). Nothing here changes results: with fp32 KV every path gives
// the same K/V bytes to the attention op (tests/actors/tiered_placement_test.cpp).
//
// One engine thread drives the store and all its sequences.
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/tier_options.hpp"
#include "gpu/backend.hpp"
#include "gpu/device_kv_pool.hpp"
#include "model/model_config.hpp"
#include "proto/kv_tier.hpp"
#include "scheduler/phase_planner.hpp"
#include "storage/block_store.hpp"

namespace alisa::engine {

class tiered_sequence;

// One phase transition of one sequence (the "phase over time" report).
struct phase_change {
  uint64_t sequence = 0;
  int length = 0;  // tokens the sequence held when the plan changed
  kv_phase phase = kv_phase::one;
};

// The phase log's length limit (the oldest half is dropped when it is reached).
inline constexpr size_t kMaxPhaseChanges = 16384;

struct tier_report {
  tier_stats_array tiers;           // indexed by kv_tier
  uint64_t tokens_recomputed = 0;   // (token, layer) rows recomputed from hidden states
  uint64_t hidden_bytes_written = 0;
  double move_ms = 0.0;             // block moves between tiers (offload, promotion, spill)
  std::vector<phase_change> phases;  // the latest kMaxPhaseChanges at most
  std::vector<std::string> warnings;
  std::string plan_reason;          // the latest plan's one-line explanation
  std::string peak_plan_reason;     // the explanation of the plan for the largest batch
  size_t peak_plan_sequences = 0;
  scheduler::measured_rates rates;  // measured at start-up
};

class tiered_kv_store {
 public:
  using warning_sink = std::function<void(const std::string&)>;

  // Opens the tiers (the NVMe directory is created and must be writable) and measures the rates
  // the cost model needs. attended_fraction: the share of older tokens a step is expected to
  // attend (1 - sparsity for SWA, 1 for dense). Errors name the option at fault.
  static absl::StatusOr<std::unique_ptr<tiered_kv_store>> open(
      gpu::backend& be, const model::model_config& config, kv_dtype kv_type, dtype weight_type,
      const tier_options& options, double attended_fraction, warning_sink warn = {});
  ~tiered_kv_store();

  // A new sequence of at most `capacity` positions that is expected to reach final_length.
  std::unique_ptr<tiered_sequence> make_sequence(int capacity, int final_length);

  const tier_report& report() const { return report_; }
  // A new workload starts (no live sequences): zeroes the counters and the phase log (rates,
  // resident bytes and warnings stay) and restarts the planner, so flexgen derives its static
  // split from this workload, not an earlier one.
  void begin_job();
  // While held, sequences joining or leaving do not re-plan; releasing re-plans once. A batch
  // admits its sequences under one hold so the planner sees the whole batch at once.
  void hold_replans(bool hold);
  const tier_options& options() const { return options_; }
  const scheduler::kv_geometry& geometry() const { return geometry_; }
  int device_slots() const { return pool_->num_slots(); }
  // The host or NVMe store (nullptr when that tier is absent), for tests and tools.
  storage::block_store* tier_store(kv_tier tier) {
    return tier == kv_tier::host ? host_.get() : tier == kv_tier::nvme ? nvme_.get() : nullptr;
  }
  const storage::block_store* tier_store(kv_tier tier) const {
    return const_cast<tiered_kv_store*>(this)->tier_store(tier);
  }
  int free_device_slots() const { return pool_->num_free(); }
  // Whether full blocks can leave the device (a host, NVMe or memory-node tier that has not
  // failed, and a policy that moves blocks): then a running sequence needs only its open block of
  // every layer on the device, else every block it will hold (engine/step_loop.hpp's admission).
  bool has_lower_tier() const;
  // The id of the sequence made last (its blocks' key prefix), for tests and tools.
  uint64_t newest_sequence_id() const { return next_sequence_ - 1; }
  // The high 32 bits of every sequence id this store makes (random per store): a memory node
  // erases a dead worker's sequences by it (kv_erase_owner).
  uint32_t sequence_owner() const { return static_cast<uint32_t>(first_sequence_ >> 32); }
  // Makes `store` the host tier (a worker's memory nodes: actors/spread_block_store.hpp) and
  // re-plans with its budget. Blocks in the previous host store are lost to their sequences and
  // will be recomputed. Call between steps.
  void use_host_store(std::unique_ptr<storage::block_store> store);
  // The host store's budget changed (a memory node joined or was lost): re-plan with it.
  void refresh_host_budget();

 private:
  friend class tiered_sequence;
  struct block_bytes;
  tiered_kv_store(gpu::backend& be, const model::model_config& config, kv_dtype kv_type,
                  const tier_options& options, warning_sink warn);

  // --- used by tiered_sequence ---
  void attach(tiered_sequence* seq);
  void detach(tiered_sequence* seq);
  void replan();
  int allocate_slot();  // demotes the oldest complete device block when the pool is full
  void release_slot(int slot);
  // Moves one full block to `target`, falling back to slower tiers; returns where it ended up.
  kv_tier move_block(tiered_sequence& seq, int layer, int block, kv_tier target);
  bool read_block(const tiered_sequence& seq, int layer, int block, block_bytes& out);
  bool write_block(tiered_sequence& seq, int layer, int block, kv_tier tier,
                   const block_bytes& bytes);
  void erase_block(tiered_sequence& seq, int layer, int block);
  bool fetch_rows(const tiered_sequence& seq, int layer, int block,
                  std::span<const int32_t> offsets, float* keys, float* values);
  std::string encode_part(int slot, int part) const;
  // Copies a stored part's rows and statistics into a device slot (false: value unusable).
  bool decode_part(std::string_view value, int slot, int part) const;
  // Token rows of a block held in a store: the stored value of `part`, checksum-verified for
  // NVMe. Empty optional on a miss (absent, corrupt, I/O error).
  std::optional<std::string_view> load_part(kv_tier tier, uint64_t sequence, int layer, int block,
                                            kv_part part, std::string& buffer);
  // As load_part, but a remote store (a memory node) sends only the rows at `offsets`, in that
  // order (sliced = true): token-granular transfers. Local stores give the whole value.
  std::optional<std::string_view> load_rows(kv_tier tier, uint64_t sequence, int layer, int block,
                                            kv_part part, std::span<const int32_t> offsets,
                                            std::string& buffer, bool& sliced);
  storage::block_store* store_for(kv_tier tier) const;
  void warn_store_failure(kv_tier tier, const std::string& what);
  void refresh_resident();

  gpu::backend& backend_;
  model::model_config config_;
  kv_dtype kv_type_;
  tier_options options_;
  warning_sink warn_;
  scheduler::kv_geometry geometry_;
  std::unique_ptr<gpu::device_kv_pool> pool_;
  std::unique_ptr<storage::block_store> host_, nvme_;
  bool host_failed_ = false, nvme_failed_ = false;
  std::unique_ptr<scheduler::phase_planner> planner_;
  scheduler::planner_options plan_options_;
  std::vector<tiered_sequence*> live_;
  // Random high 32 bits: workers sharing memory nodes must never use the same sequence id (the
  // memory tier's keys are (sequence, layer, part, block)); a restarted worker neither.
  const uint64_t first_sequence_ = first_sequence_id();
  uint64_t next_sequence_ = first_sequence_;
  static uint64_t first_sequence_id();
  float* fetch_keys_ = nullptr;  // one device slot used to convert fetched non-fp32 rows
  tier_report report_;
  bool replanning_ = false;
  bool replans_held_ = false;
};

}  // namespace alisa::engine
