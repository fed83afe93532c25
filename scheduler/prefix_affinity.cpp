#include "scheduler/prefix_affinity.hpp"

#include "proto/kv_tier.hpp"

namespace alisa::scheduler {

std::optional<uint64_t> prefix_affinity::signature(std::span<const int32_t> prompt) {
  if (prompt.size() <= static_cast<size_t>(kv_block_tokens)) return std::nullopt;
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a over the first block's ids
  for (size_t i = 0; i < static_cast<size_t>(kv_block_tokens); ++i) {
    const auto t = static_cast<uint32_t>(prompt[i]);
    for (int b = 0; b < 4; ++b) h = (h ^ ((t >> (8 * b)) & 0xffu)) * 0x100000001b3ull;
  }
  return h;
}

void prefix_affinity::record(std::optional<uint64_t> sig, int worker) {
  if (!sig || capacity_ == 0) return;
  if (auto it = table_.find(*sig); it != table_.end()) {
    it->second.worker = worker;
    lru_.splice(lru_.begin(), lru_, it->second.recency);
    return;
  }
  if (table_.size() >= capacity_) {
    table_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(*sig);
  table_.emplace(*sig, entry{worker, lru_.begin()});
}

void prefix_affinity::forget_worker(int worker) {
  for (auto it = table_.begin(); it != table_.end();) {
    if (it->second.worker == worker) {
      lru_.erase(it->second.recency);
      it = table_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace alisa::scheduler
