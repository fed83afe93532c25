#pragma once
// spill_store — a memory tier's storage: host RAM first, spilling to a disk store (RocksDB on
// NVMe) when RAM is full. One block_store over two, so the memory-tier actor and tests see the
// ordinary contract (block_store.hpp).
//
//   put ──fits in RAM?──yes──> RAM (any older copy on disk is erased)
//                      └─no──> disk ──full──> put_outcome::full (nothing changed)
//                                        (an older copy in RAM is erased once disk holds it)
//   get / get_rows ──> RAM, else disk (disk values are checksum-verified by get_rows)
//
// A key lives in exactly one part. bytes_used(), budget_bytes() and num_values() are sums, so
// can_store() may say yes for a value that fits in neither part alone (put then says full);
// ram_bytes_used() / disk_bytes_used() give the parts for tier_usage reports. The disk part may
// be absent (no spill). Nothing migrates back from disk when RAM frees up: a value stays where
// it was put until it is replaced or erased.
//
// Ownership: owns both parts. Thread affinity: one thread at a time (block_store.hpp).
#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "storage/block_store.hpp"

namespace alisa::storage {

class spill_store final : public block_store {
 public:
  // ram must not be null; disk may be (then a full RAM makes put full).
  spill_store(std::unique_ptr<block_store> ram, std::unique_ptr<block_store> disk);

  std::string_view name() const override { return "spill"; }
  uint64_t budget_bytes() const override;
  uint64_t bytes_used() const override;
  size_t num_values() const override;

  put_result put(const block_key& key, std::string_view value) override;
  absl::StatusOr<std::string_view> get(const block_key& key, std::string& buffer) override;
  absl::StatusOr<std::string_view> get_rows(const block_key& key, std::span<const int32_t> offsets,
                                            std::string& buffer) override;
  absl::Status erase(const block_key& key) override;
  absl::Status erase_sequence(uint64_t sequence) override;
  absl::Status flush() override;

  uint64_t ram_bytes_used() const { return ram_->bytes_used(); }
  uint64_t ram_budget_bytes() const { return ram_->budget_bytes(); }
  uint64_t disk_bytes_used() const { return disk_ ? disk_->bytes_used() : 0; }
  uint64_t disk_budget_bytes() const { return disk_ ? disk_->budget_bytes() : 0; }
  bool on_disk(const block_key& key) const { return on_disk_.count(encode_key(key)) > 0; }

 private:
  put_result put_on_disk(const block_key& key, std::string_view value);

  std::unique_ptr<block_store> ram_, disk_;
  // Encoded keys of the values on disk: which part to read without a disk lookup, and whether a
  // put into RAM must erase an older disk copy. Ordered so erase_sequence is a range.
  std::set<std::string> on_disk_;
};

std::unique_ptr<spill_store> make_spill_store(std::unique_ptr<block_store> ram,
                                              std::unique_ptr<block_store> disk);

}  // namespace alisa::storage
