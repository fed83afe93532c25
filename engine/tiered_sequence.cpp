#include "engine/tiered_sequence.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "engine/tiered_kv_store.hpp"
#include "storage/block_codec.hpp"
#include "storage/block_store.hpp"

namespace alisa::engine {

tiered_sequence::tiered_sequence(tiered_kv_store& store, uint64_t id, int capacity,
                                 int final_length, bool keep_hidden)
    : store_(store),
      id_(id),
      capacity_(capacity),
      final_length_(std::min(std::max(final_length, 1), capacity)),
      keep_hidden_(keep_hidden),
      blocks_(static_cast<size_t>(store.config_.num_layers)),
      open_hidden_(static_cast<size_t>(store.config_.num_layers)),
      kept_hidden_(static_cast<size_t>(store.config_.num_layers)) {}

tiered_sequence::~tiered_sequence() { store_.detach(this); }

tiered_sequence::block_entry& tiered_sequence::ensure_open_block(int layer, int block) {
  auto& table = blocks_[layer];
  while (static_cast<int>(table.size()) <= block) table.emplace_back();
  block_entry& e = table[block];
  if (e.slot < 0 && e.tier == kv_tier::device) e.slot = store_.allocate_slot();
  return e;
}

void tiered_sequence::write(int layer, const float* keys, const float* values,
                            const float* hidden, int n) {
  const size_t dim = static_cast<size_t>(store_.config_.kv_dim());
  const size_t hidden_dim = static_cast<size_t>(store_.config_.hidden_size);
  for (int i = 0; i < n;) {
    const int position = length_ + i;
    const int count = std::min(n - i, kv_block_tokens - position % kv_block_tokens);
    write_block_rows(layer, position, keys + i * dim, values + i * dim, hidden + i * hidden_dim,
                     count);
    i += count;
  }
}

// Rows [position, position + count) all lie in one block.
void tiered_sequence::write_block_rows(int layer, int position, const float* keys,
                                       const float* values, const float* hidden, int count) {
  const int block = position / kv_block_tokens;
  const int offset = position % kv_block_tokens;
  block_entry& e = ensure_open_block(layer, block);
  auto& be = store_.backend_;
  be.append_kv(store_.pool_->keys(e.slot), offset, keys, count);
  be.append_kv(store_.pool_->values(e.slot), offset, values, count);
  auto& tiers = store_.report_.tiers[static_cast<size_t>(kv_tier::device)];
  tiers.bytes_written += uint64_t(count) * store_.geometry_.kv_row_bytes;
  if (offset + count == kv_block_tokens) e.complete = true;
  if (keep_hidden_) {
    const size_t width = static_cast<size_t>(store_.config_.hidden_size);
    auto& rows = open_hidden_[layer];
    rows.resize(width * kv_block_tokens);
    be.download(rows.data() + offset * width, hidden, count * width * sizeof(float));
    // Only a sequence planned to leave the device needs them: a phase I sequence writes none.
    if (offset + count == kv_block_tokens && plan_.store_hidden) store_hidden_block(layer, block);
  }
  store_.refresh_resident();
}

// A completed block's hidden rows go to the host store, else NVMe, else stay here (counted as
// host bytes over budget, with a warning) — they are what recomputation needs, so never lost.
void tiered_sequence::store_hidden_block(int layer, int block) {
  const auto& rows = open_hidden_[layer];
  const size_t row_bytes = store_.config_.hidden_size * sizeof(float);
  const std::string value = storage::encode_block(
      {kv_part::hidden, 0, kv_block_tokens, static_cast<uint32_t>(row_bytes), 0},
      std::string_view(reinterpret_cast<const char*>(rows.data()), rows.size() * sizeof(float)),
      {});
  block_entry& e = blocks_[layer][block];
  const storage::block_key key{id_, static_cast<uint16_t>(layer), kv_part::hidden,
                               static_cast<uint32_t>(block)};
  for (kv_tier t : {kv_tier::host, kv_tier::nvme}) {
    storage::block_store* store = store_.store_for(t);
    if (!store || !store->can_store(value.size())) continue;
    const auto put = store->put(key, value);
    if (put.outcome == storage::put_outcome::failed)
      store_.warn_store_failure(t, std::string(put.error.message()));
    if (put.outcome != storage::put_outcome::stored) continue;
    e.hidden = t == kv_tier::host ? hidden_place::host : hidden_place::nvme;
    store_.report_.hidden_bytes_written += value.size();
    store_.report_.tiers[static_cast<size_t>(t)].bytes_written += value.size();
    return;
  }
  auto& kept = kept_hidden_[layer];
  if (static_cast<int>(kept.size()) <= block) kept.resize(block + 1);
  kept[block] = rows;
  e.hidden = hidden_place::kept;
}

void tiered_sequence::advance(int n) {
  const int before = num_full_blocks();
  length_ += n;
  if (num_full_blocks() != before) store_.replan();
}

// Moves every full block to the tier the current plan gives it.
void tiered_sequence::rebalance() {
  const int full = num_full_blocks();
  for (int layer = 0; layer < static_cast<int>(blocks_.size()); ++layer)
    for (int b = 0; b < std::min(full, static_cast<int>(blocks_[layer].size())); ++b) {
      const kv_tier target = plan_.target_tier(b, full);
      if (blocks_[layer][b].tier != target) store_.move_block(*this, layer, b, target);
    }
}

void tiered_sequence::gather(int layer, std::span<const int32_t> positions, float* keys,
                             float* values, std::vector<int32_t>& recompute,
                             float* recompute_hidden) {
  recompute.clear();
  // Windows of blocks whose selected rows total about kPrefetchBytes are read together (one
  // batch per store), then copied out: a dense gather of a long context never holds more than a
  // window of fetched rows besides its destination.
  const uint64_t row_bytes = store_.geometry_.kv_row_bytes;
  for (size_t begin = 0; begin < positions.size();) {
    size_t end = begin;
    while (end < positions.size() &&
           (end == begin || (end - begin + 1) * row_bytes <= kPrefetchBytes)) {
      const int block = positions[end] / kv_block_tokens;
      while (end < positions.size() && positions[end] / kv_block_tokens == block) ++end;
    }
    const auto window = positions.subspan(begin, end - begin);
    prefetch_rows(layer, window);
    for (size_t first = begin; first < end;) {
      const int block = positions[first] / kv_block_tokens;
      size_t count = 1;
      while (first + count < end && positions[first + count] / kv_block_tokens == block) ++count;
      gather_block(layer, block, positions, first, count, keys, values, recompute,
                   recompute_hidden);
      first += count;
    }
    prefetched_.clear();
    begin = end;
  }
  store_.backend_.commit_uploads();  // the staged host/NVMe rows are visible to what follows
}

void tiered_sequence::prefetch_rows(int layer, std::span<const int32_t> positions) {
  prefetched_.clear();
  storage::block_store* host = store_.store_for(kv_tier::host);
  if (host && host->is_remote()) prefetch_tier(kv_tier::host, *host, layer, positions);
  if (storage::block_store* nvme = store_.store_for(kv_tier::nvme))
    prefetch_tier(kv_tier::nvme, *nvme, layer, positions);
}

void tiered_sequence::prefetch_tier(kv_tier tier, storage::block_store& store, int layer,
                                    std::span<const int32_t> positions) {
  std::vector<int> blocks;
  std::vector<std::vector<int32_t>> offsets;  // per block; the requests point into them
  for (size_t first = 0; first < positions.size();) {
    const int block = positions[first] / kv_block_tokens;
    size_t count = 1;
    while (first + count < positions.size() && positions[first + count] / kv_block_tokens == block)
      ++count;
    if (blocks_[layer][block].tier == tier) {
      blocks.push_back(block);
      auto& rows = offsets.emplace_back(count);
      for (size_t i = 0; i < count; ++i) rows[i] = positions[first + i] % kv_block_tokens;
    }
    first += count;
  }
  if (blocks.empty()) return;
  std::vector<storage::row_request> requests;
  for (size_t b = 0; b < blocks.size(); ++b)
    for (kv_part part : {kv_part::keys, kv_part::values})
      requests.push_back({{id_, static_cast<uint16_t>(layer), part,
                           static_cast<uint32_t>(blocks[b])},
                          offsets[b]});
  auto answers = store.get_rows_batch(requests);
  for (size_t r = 0; r < requests.size(); ++r)
    prefetched_.emplace(static_cast<int>(requests[r].key.block) * 2 +
                            (requests[r].key.part == kv_part::values ? 1 : 0),
                        std::move(answers[r]));
}

const absl::StatusOr<std::string>* tiered_sequence::prefetched(int block, kv_part part) const {
  auto it = prefetched_.find(block * 2 + (part == kv_part::values ? 1 : 0));
  return it == prefetched_.end() ? nullptr : &it->second;
}

}  // namespace alisa::engine
