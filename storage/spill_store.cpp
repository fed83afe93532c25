#include "storage/spill_store.hpp"

#include <cassert>
#include <utility>

namespace alisa::storage {

spill_store::spill_store(std::unique_ptr<block_store> ram, std::unique_ptr<block_store> disk)
    : ram_(std::move(ram)), disk_(std::move(disk)) {
  assert(ram_ != nullptr);
}

uint64_t spill_store::budget_bytes() const { return ram_budget_bytes() + disk_budget_bytes(); }
uint64_t spill_store::bytes_used() const { return ram_bytes_used() + disk_bytes_used(); }
size_t spill_store::num_values() const {
  return ram_->num_values() + (disk_ ? disk_->num_values() : 0);
}

put_result spill_store::put(const block_key& key, std::string_view value) {
  const put_result in_ram = ram_->put(key, value);
  if (in_ram.outcome != put_outcome::stored) return put_on_disk(key, value);
  auto it = on_disk_.find(encode_key(key));
  if (it == on_disk_.end()) return in_ram;
  on_disk_.erase(it);
  if (auto s = disk_->erase(key); !s.ok()) return {put_outcome::failed, s};
  return in_ram;
}

// RAM had no room (an older copy there is kept until the disk holds the new one).
put_result spill_store::put_on_disk(const block_key& key, std::string_view value) {
  if (!disk_) return {put_outcome::full, {}};
  std::string encoded = encode_key(key);
  put_result r = disk_->put(key, value);
  if (r.outcome == put_outcome::full) return r;
  if (r.outcome == put_outcome::failed) {
    on_disk_.erase(encoded);  // the contract: after failed the key is absent
    (void)ram_->erase(key);
    return r;
  }
  on_disk_.insert(std::move(encoded));
  if (auto s = ram_->erase(key); !s.ok()) return {put_outcome::failed, s};
  return r;
}

absl::StatusOr<std::string_view> spill_store::get(const block_key& key, std::string& buffer) {
  if (on_disk(key)) return disk_->get(key, buffer);
  return ram_->get(key, buffer);
}

absl::StatusOr<std::string_view> spill_store::get_rows(const block_key& key,
                                                       std::span<const int32_t> offsets,
                                                       std::string& buffer) {
  if (on_disk(key)) return disk_->get_rows(key, offsets, buffer);
  return ram_->get_rows(key, offsets, buffer);
}

absl::Status spill_store::erase(const block_key& key) {
  if (auto it = on_disk_.find(encode_key(key)); it != on_disk_.end()) {
    on_disk_.erase(it);
    return disk_->erase(key);
  }
  return ram_->erase(key);
}

absl::Status spill_store::erase_sequence(uint64_t sequence) {
  absl::Status ram_status = ram_->erase_sequence(sequence);
  if (!disk_) return ram_status;
  on_disk_.erase(on_disk_.lower_bound(sequence_begin_key(sequence)),
                 on_disk_.lower_bound(sequence_end_key(sequence)));
  absl::Status disk_status = disk_->erase_sequence(sequence);
  return ram_status.ok() ? disk_status : ram_status;
}

absl::Status spill_store::flush() {
  absl::Status ram_status = ram_->flush();
  if (!disk_) return ram_status;
  absl::Status disk_status = disk_->flush();
  return ram_status.ok() ? disk_status : ram_status;
}

std::unique_ptr<spill_store> make_spill_store(std::unique_ptr<block_store> ram,
                                              std::unique_ptr<block_store> disk) {
  return std::make_unique<spill_store>(std::move(ram), std::move(disk));
}

}  // namespace alisa::storage
