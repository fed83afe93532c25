#pragma once
// device_kv_pool — the device tier of the tiered KV store: a fixed arena of block slots in backend
// memory (GPU memory on the CUDA backend, an arena of host memory on the CPU backend), sized by
// --device-kv-budget. A slot holds one block (kv_block_tokens positions) of one layer's keys and
// values in the KV dtype, each part laid out like a dense_kv_cache layer of that capacity
// (kv_rows_layout), so append_kv / gather_kv / attention work on it unchanged. The first
// stored_part_bytes() of a part are what leaves the device when a complete block is offloaded
// (int8 staging is only needed while the block is being filled).
//
// Owned by the tiered store; must not outlive the backend. One thread at a time.
#include <cstdint>
#include <optional>
#include <vector>

#include "gpu/backend.hpp"
#include "gpu/kv_cache.hpp"

namespace alisa::gpu {

class device_kv_pool {
 public:
  // Throws std::invalid_argument naming both sizes when the budget is smaller than one slot.
  device_kv_pool(backend& be, int kv_dim, kv_dtype type, uint64_t budget_bytes);
  ~device_kv_pool();
  device_kv_pool(const device_kv_pool&) = delete;
  device_kv_pool& operator=(const device_kv_pool&) = delete;

  // Device bytes of one slot (keys + values) for these dimensions: what a budget is divided by.
  static uint64_t slot_bytes_for(int kv_dim, kv_dtype type);

  int num_slots() const { return static_cast<int>(num_slots_); }
  int num_free() const { return static_cast<int>(free_.size()); }
  uint64_t slot_bytes() const { return 2 * layout_.total(); }
  uint64_t stored_part_bytes() const { return layout_.stored(); }
  uint64_t bytes_in_use() const { return uint64_t(num_slots() - num_free()) * slot_bytes(); }

  std::optional<int> allocate();  // nullopt when every slot is taken ("full" is not an error)
  void release(int slot);
  kv_rows keys(int slot) const;
  kv_rows values(int slot) const;
  // Start of a part's bytes (keys: part 0, values: part 1) in backend memory.
  void* part_base(int slot, int part) const;

 private:
  backend& backend_;
  int kv_dim_;
  kv_dtype type_;
  kv_rows_layout layout_;
  size_t num_slots_ = 0;
  void* base_ = nullptr;
  std::vector<int> free_;
};

}  // namespace alisa::gpu
