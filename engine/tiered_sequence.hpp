#pragma once
// tiered_sequence — one sequence's KV in the tiered store, as the forward pass sees it
// (gpu::kv_source): a block table per layer saying where each block of K/V lives, plus where its
// hidden states are. See tiered_kv_store.hpp for the life of a block.
//
// Created by tiered_kv_store::make_sequence; destroying it frees the sequence's KV in every tier
// (range delete on the stores) and re-plans the others. Same thread as its store.
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

#include "gpu/kv_source.hpp"
#include "proto/kv_tier.hpp"
#include "scheduler/phase_planner.hpp"
#include "storage/block_store.hpp"

namespace alisa::engine {

class tiered_kv_store;

class tiered_sequence final : public gpu::kv_source {
 public:
  ~tiered_sequence() override;
  tiered_sequence(const tiered_sequence&) = delete;
  tiered_sequence& operator=(const tiered_sequence&) = delete;

  int length() const override { return length_; }
  int capacity() const override { return capacity_; }
  void write(int layer, const float* keys, const float* values, const float* hidden,
             int n) override;
  void gather(int layer, std::span<const int32_t> positions, float* keys, float* values,
              std::vector<int32_t>& recompute, float* recompute_hidden) override;
  void advance(int n) override;

  uint64_t id() const { return id_; }
  int final_length() const { return final_length_; }
  kv_phase phase() const { return plan_.phase; }
  // Where block `block` of `layer` is now (tests and reports).
  kv_tier tier_of(int layer, int block) const { return blocks_[layer][block].tier; }
  int num_full_blocks() const { return length_ / kv_block_tokens; }

 private:
  friend class tiered_kv_store;
  // Where a hidden-state block is: host or nvme store, `kept` in memory here when both refused it,
  // or absent (policies that never recompute, or not complete yet).
  enum class hidden_place : uint8_t { absent, host, nvme, kept };
  struct block_entry {
    kv_tier tier = kv_tier::device;
    int slot = -1;  // device slot while tier == device
    hidden_place hidden = hidden_place::absent;
    bool complete = false;  // every row written: immutable, may leave the device
  };
  tiered_sequence(tiered_kv_store& store, uint64_t id, int capacity, int final_length,
                  bool keep_hidden);
  block_entry& ensure_open_block(int layer, int block);
  void write_block_rows(int layer, int position, const float* keys, const float* values,
                        const float* hidden, int count);
  void store_hidden_block(int layer, int block);
  void gather_block(int layer, int block, std::span<const int32_t> positions, size_t first,
                    size_t count, float* keys, float* values, std::vector<int32_t>& recompute,
                    float* recompute_hidden);
  bool fetch_hidden_rows(int layer, int block, std::span<const int32_t> positions, size_t first,
                         size_t count, size_t recompute_index, float* recompute_hidden);
  void rebalance();
  // Reads the rows of every block this layer's gather needs from a remote host tier (memory
  // nodes: one batch per node) and from the NVMe tier (its reads run concurrently), before the
  // per-block loop uses them.
  void prefetch_rows(int layer, std::span<const int32_t> positions);
  void prefetch_tier(kv_tier tier, storage::block_store& store, int layer,
                     std::span<const int32_t> positions);
  // The prefetched rows of (block, part) of the current gather, or nullptr.
  const absl::StatusOr<std::string>* prefetched(int block, kv_part part) const;

  tiered_kv_store& store_;
  uint64_t id_;
  int capacity_;
  int final_length_;
  bool keep_hidden_;
  int length_ = 0;
  scheduler::sequence_plan plan_;
  std::vector<std::vector<block_entry>> blocks_;     // [layer][block]
  std::vector<std::vector<float>> open_hidden_;      // [layer]: the open block's hidden rows
  std::vector<std::vector<std::vector<float>>> kept_hidden_;  // [layer][block] when kept
  std::vector<int32_t> offsets_;                     // scratch: a block's selected rows
  // Fetched rows one gather window may hold (tiered_sequence::gather).
  static constexpr uint64_t kPrefetchBytes = 2ull << 20;
  // The current gather window's prefetched rows, by block * 2 + part (keys 0, values 1).
  std::map<int, absl::StatusOr<std::string>> prefetched_;
};

}  // namespace alisa::engine
