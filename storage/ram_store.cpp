#include "storage/ram_store.hpp"

#include <map>
#include <string>

namespace alisa::storage {
namespace {

// Keyed by encode_key so that a sequence's values are one contiguous range of the map.
class ram_store final : public block_store {
 public:
  explicit ram_store(uint64_t budget_bytes) : budget_bytes_(budget_bytes) {}

  std::string_view name() const override { return "ram"; }
  uint64_t budget_bytes() const override { return budget_bytes_; }
  uint64_t bytes_used() const override { return bytes_used_; }
  size_t num_values() const override { return values_.size(); }

  put_result put(const block_key& key, std::string_view value) override {
    std::string encoded = encode_key(key);
    auto it = values_.find(encoded);
    const uint64_t old_bytes = it == values_.end() ? 0 : it->second.size();
    const uint64_t used_without = bytes_used_ - old_bytes;
    if (value.size() > budget_bytes_ || used_without > budget_bytes_ - value.size()) {
      return {put_outcome::full, {}};
    }
    if (it == values_.end()) {
      values_.emplace(std::move(encoded), std::string(value));
    } else {
      it->second.assign(value.data(), value.size());
    }
    bytes_used_ = used_without + value.size();
    return {};
  }

  absl::StatusOr<std::string_view> get(const block_key& key, std::string&) override {
    auto it = values_.find(encode_key(key));
    if (it == values_.end()) return absl::NotFoundError("ram store: no value for " + to_string(key));
    return std::string_view(it->second);
  }

  absl::Status erase(const block_key& key) override {
    auto it = values_.find(encode_key(key));
    if (it != values_.end()) erase_range(it, std::next(it));
    return absl::OkStatus();
  }

  absl::Status erase_sequence(uint64_t sequence) override {
    erase_range(values_.lower_bound(sequence_begin_key(sequence)),
                values_.lower_bound(sequence_end_key(sequence)));
    return absl::OkStatus();
  }

 private:
  using map_type = std::map<std::string, std::string>;

  void erase_range(map_type::iterator first, map_type::iterator last) {
    for (auto it = first; it != last; ++it) bytes_used_ -= it->second.size();
    values_.erase(first, last);
  }

  uint64_t budget_bytes_;
  uint64_t bytes_used_ = 0;
  map_type values_;
};

}  // namespace

std::unique_ptr<block_store> make_ram_store(uint64_t budget_bytes) {
  return std::make_unique<ram_store>(budget_bytes);
}

}  // namespace alisa::storage
