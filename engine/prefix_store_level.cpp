#include "engine/prefix_store_level.hpp"

#include "engine/prefix_block_codec.hpp"

namespace alisa::engine {

prefix_store_level::prefix_store_level(prefix_tier tier, std::unique_ptr<storage::block_store> store,
                                       bool owned)
    : tier_(tier), store_(std::move(store)), owned_(owned) {}

void prefix_store_level::index_existing(
    std::span<const std::pair<storage::block_key, uint64_t>> contents) {
  if (!owned_) return;
  for (const auto& [key, bytes] : contents) {
    if (key.part != kv_part::prefix) continue;
    touch(storage::encode_key(key));
  }
}

void prefix_store_level::touch(const encoded_key& key) {
  if (auto it = index_.find(key); it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.push_front(key);
  index_.emplace(key, lru_.begin());
}

void prefix_store_level::forget(const encoded_key& key) {
  if (auto it = index_.find(key); it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
}

bool prefix_store_level::evict_one() {
  if (lru_.empty()) return false;
  const encoded_key victim = lru_.back();
  forget(victim);
  if (!store_->erase(*storage::decode_key(victim)).ok()) ++stats_.errors;
  ++stats_.evicted;
  return true;
}

void prefix_store_level::put(const prefix_block& block) {
  const storage::block_key key = prefix_store_key(block.key);
  const encoded_key encoded = storage::encode_key(key);
  if (owned_ && index_.count(encoded)) return;
  const std::string value = encode_prefix_block(block);
  if (owned_) {
    if (value.size() > store_->budget_bytes()) return;
    while (!store_->can_store(value.size()) && evict_one()) {
    }
  }
  const storage::put_result r = store_->put(key, value);
  if (r.outcome == storage::put_outcome::failed) ++stats_.errors;
  if (r.outcome == storage::put_outcome::stored && owned_) touch(encoded);
}

std::optional<prefix_block> prefix_store_level::accept(const prefix_wanted& w,
                                                       absl::StatusOr<std::string>& value,
                                                       const prefix_cache_shape& shape) {
  const storage::block_key at = prefix_store_key(w.key);
  const encoded_key encoded = storage::encode_key(at);
  if (!value.ok()) {
    if (!absl::IsNotFound(value.status())) ++stats_.errors;
    if (owned_) forget(encoded);
    return std::nullopt;
  }
  auto block = decode_prefix_block(*value, w.key, w.parent, w.tokens, shape);
  if (!block.ok()) {
    ++stats_.rejected;
    // A damaged value goes. A sound one that does not fit this engine (a shared level's block
    // without the hidden rows a tiered engine needs) may serve the workers that wrote it.
    if (absl::IsDataLoss(block.status()) || owned_) {
      damaged_.push_back(at);
      forget(encoded);
    }
    return std::nullopt;
  }
  if (owned_) touch(encoded);
  return std::move(*block);
}

std::vector<storage::row_request> prefix_store_level::requests(
    std::span<const prefix_wanted> wanted) const {
  std::vector<storage::row_request> out;
  for (const auto& w : wanted) {
    const storage::block_key at = prefix_store_key(w.key);
    if (owned_ && !index_.count(storage::encode_key(at))) break;  // the run ends here
    out.push_back({at, {}});
  }
  return out;
}

std::vector<absl::StatusOr<std::string>> prefix_store_level::fetch(
    std::span<const storage::row_request> requests) {
  if (requests.empty()) return {};
  return store_->get_rows_batch(requests);
}

std::vector<prefix_block> prefix_store_level::accept_run(
    std::span<const prefix_wanted> wanted, std::vector<absl::StatusOr<std::string>>& values,
    const prefix_cache_shape& shape) {
  std::vector<prefix_block> out;
  for (size_t i = 0; i < values.size() && i < wanted.size(); ++i) {
    auto block = accept(wanted[i], values[i], shape);
    if (!block) break;
    out.push_back(std::move(*block));
  }
  return out;
}

void prefix_store_level::finish() {
  for (const auto& at : damaged_)
    if (!store_->erase(at).ok()) ++stats_.errors;
  damaged_.clear();
}

std::vector<prefix_block> prefix_store_level::get_run(std::span<const prefix_wanted> wanted,
                                                      const prefix_cache_shape& shape) {
  auto values = fetch(requests(wanted));
  auto out = accept_run(wanted, values, shape);
  finish();
  return out;
}

}  // namespace alisa::engine
