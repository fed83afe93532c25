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

std::optional<prefix_block> prefix_store_level::get(const prefix_key& key, const prefix_key& parent,
                                                    std::span<const int32_t> tokens,
                                                    const prefix_cache_shape& shape) {
  const storage::block_key at = prefix_store_key(key);
  const encoded_key encoded = storage::encode_key(at);
  if (owned_ && !index_.count(encoded)) return std::nullopt;
  auto bytes = store_->get(at, buffer_);
  if (!bytes.ok()) {
    if (!absl::IsNotFound(bytes.status())) ++stats_.errors;
    if (owned_) forget(encoded);
    return std::nullopt;
  }
  auto block = decode_prefix_block(*bytes, key, parent, tokens, shape);
  if (!block.ok()) {
    ++stats_.rejected;
    // A damaged value goes. A sound one that does not fit this engine (a shared level's block
    // without the hidden rows a tiered engine needs) may serve the workers that wrote it.
    if (absl::IsDataLoss(block.status()) || owned_) {
      if (!store_->erase(at).ok()) ++stats_.errors;
      forget(encoded);
    }
    return std::nullopt;
  }
  if (owned_) touch(encoded);
  return std::move(*block);
}

}  // namespace alisa::engine
