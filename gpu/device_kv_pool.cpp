#include "gpu/device_kv_pool.hpp"

#include <stdexcept>
#include <string>

#include "proto/byte_size.hpp"
#include "proto/kv_tier.hpp"

namespace alisa::gpu {

uint64_t device_kv_pool::slot_bytes_for(int kv_dim, kv_dtype type) {
  return 2 * kv_layout_for(type, kv_dim, kv_block_tokens).total();
}

device_kv_pool::device_kv_pool(backend& be, int kv_dim, kv_dtype type, uint64_t budget_bytes)
    : backend_(be), kv_dim_(kv_dim), type_(type), layout_(kv_layout_for(type, kv_dim, kv_block_tokens)) {
  num_slots_ = static_cast<size_t>(budget_bytes / slot_bytes());
  if (num_slots_ == 0)
    throw std::invalid_argument("device KV budget " + format_byte_size(budget_bytes) +
                                " is smaller than one block (" + format_byte_size(slot_bytes()) +
                                ": " + std::to_string(kv_block_tokens) + " tokens of one layer)");
  base_ = backend_.allocate(num_slots_ * slot_bytes());
  free_.reserve(num_slots_);
  for (size_t i = num_slots_; i-- > 0;) free_.push_back(static_cast<int>(i));  // low slots first
}

device_kv_pool::~device_kv_pool() { backend_.release(base_); }

std::optional<int> device_kv_pool::allocate() {
  if (free_.empty()) return std::nullopt;
  const int slot = free_.back();
  free_.pop_back();
  return slot;
}

void device_kv_pool::release(int slot) { free_.push_back(slot); }

void* device_kv_pool::part_base(int slot, int part) const {
  return static_cast<char*>(base_) + static_cast<size_t>(slot) * slot_bytes() +
         static_cast<size_t>(part) * layout_.total();
}

kv_rows device_kv_pool::keys(int slot) const {
  return carve_kv_rows(part_base(slot, 0), layout_, type_, kv_dim_);
}

kv_rows device_kv_pool::values(int slot) const {
  return carve_kv_rows(part_base(slot, 1), layout_, type_, kv_dim_);
}

}  // namespace alisa::gpu
