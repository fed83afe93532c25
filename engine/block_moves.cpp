// tiered_kv_store: moving one full block between tiers, with the fallbacks of tiered_kv_store.hpp.
#include <cstring>

#include "engine/tiered_kv_store.hpp"
#include "engine/tiered_sequence.hpp"
#include "storage/block_codec.hpp"

namespace alisa::engine {

// A full block's two stored values (keys, values) while it moves.
struct tiered_kv_store::block_bytes {
  std::string keys, values;
};

namespace {

storage::block_key key_of(uint64_t sequence, int layer, int block, kv_part part) {
  return storage::block_key{sequence, static_cast<uint16_t>(layer), part,
                            static_cast<uint32_t>(block)};
}

// Tiers a demotion may end in, in order of preference: the target, then each slower one.
std::vector<kv_tier> candidates(kv_tier from, kv_tier target) {
  if (target < from) return {target};  // promotion: only the tier asked for
  std::vector<kv_tier> out;
  for (int t = static_cast<int>(target); t < num_kv_tiers; ++t) out.push_back(kv_tier(t));
  return out;
}

}  // namespace

std::string tiered_kv_store::encode_part(int slot, int part) const {
  const gpu::kv_rows rows = part == 0 ? pool_->keys(slot) : pool_->values(slot);
  const size_t row_bytes = size_t(config_.kv_dim()) * kv_dtype_size(kv_type_);
  std::string data(row_bytes * kv_block_tokens, '\0'), stats;
  backend_.download(data.data(), rows.data, data.size());
  if (kv_type_ == kv_dtype::i8) {
    const size_t stat_bytes = size_t(config_.kv_dim()) * sizeof(float);
    stats.resize(2 * stat_bytes);
    backend_.download(stats.data(), rows.minimum, stat_bytes);
    backend_.download(stats.data() + stat_bytes, rows.scale, stat_bytes);
  }
  const storage::block_header h{part == 0 ? kv_part::keys : kv_part::values,
                                static_cast<uint8_t>(kv_type_), kv_block_tokens,
                                static_cast<uint32_t>(row_bytes),
                                static_cast<uint32_t>(stats.size())};
  return storage::encode_block(h, data, stats);
}

bool tiered_kv_store::decode_part(std::string_view value, int slot, int part) const {
  auto view = storage::decode_block(value);
  if (!view.ok()) return false;
  const gpu::kv_rows rows = part == 0 ? pool_->keys(slot) : pool_->values(slot);
  backend_.upload(rows.data, view->rows.data(), view->rows.size());
  if (kv_type_ == kv_dtype::i8) {
    const size_t stat_bytes = view->stats.size() / 2;
    backend_.upload(rows.minimum, view->stats.data(), stat_bytes);
    backend_.upload(rows.scale, view->stats.data() + stat_bytes, stat_bytes);
  }
  return true;
}

std::optional<std::string_view> tiered_kv_store::load_part(kv_tier tier, uint64_t sequence,
                                                           int layer, int block, kv_part part,
                                                           std::string& buffer) {
  storage::block_store* store = tier == kv_tier::host ? host_.get() : nvme_.get();
  if (!store) return std::nullopt;
  auto value = store->get(key_of(sequence, layer, block, part), buffer);
  if (!value.ok()) return std::nullopt;
  return *value;
}

std::optional<std::string_view> tiered_kv_store::load_rows(kv_tier tier, uint64_t sequence,
                                                           int layer, int block, kv_part part,
                                                           std::span<const int32_t> offsets,
                                                           std::string& buffer, bool& sliced) {
  storage::block_store* store = tier == kv_tier::host ? host_.get() : nvme_.get();
  sliced = store && store->is_remote();
  if (!sliced) return load_part(tier, sequence, layer, block, part, buffer);
  auto value = store->get_rows(key_of(sequence, layer, block, part), offsets, buffer);
  if (!value.ok()) return std::nullopt;
  return *value;
}

bool tiered_kv_store::read_block(const tiered_sequence& seq, int layer, int block,
                                 block_bytes& out) {
  const auto& e = seq.blocks_[layer][block];
  if (e.tier == kv_tier::device) {
    out.keys = encode_part(e.slot, 0);
    out.values = encode_part(e.slot, 1);
    return true;
  }
  std::string buffer;
  for (auto [part, dst] : {std::pair{kv_part::keys, &out.keys}, {kv_part::values, &out.values}}) {
    auto v = load_part(e.tier, seq.id(), layer, block, part, buffer);
    if (!v || !storage::decode_block(*v).ok()) return false;
    dst->assign(v->data(), v->size());
  }
  return true;
}

bool tiered_kv_store::write_block(tiered_sequence& seq, int layer, int block, kv_tier tier,
                                  const block_bytes& bytes) {
  auto& e = seq.blocks_[layer][block];
  if (tier == kv_tier::dropped) return e.hidden != tiered_sequence::hidden_place::absent;
  if (tier == kv_tier::device) {
    auto slot = pool_->allocate();
    if (!slot) return false;
    if (!decode_part(bytes.keys, *slot, 0) || !decode_part(bytes.values, *slot, 1)) {
      pool_->release(*slot);
      return false;
    }
    e.slot = *slot;
    return true;
  }
  storage::block_store* store = store_for(tier);
  if (!store || !store->can_store(bytes.keys.size() + bytes.values.size())) return false;
  for (auto [part, value] : {std::pair{kv_part::keys, &bytes.keys}, {kv_part::values, &bytes.values}}) {
    const auto put = store->put(key_of(seq.id(), layer, block, part), *value);
    if (put.outcome == storage::put_outcome::stored) continue;
    (void)store->erase(key_of(seq.id(), layer, block, kv_part::keys));
    if (put.outcome == storage::put_outcome::failed)
      warn_store_failure(tier, std::string(put.error.message()));
    return false;
  }
  report_.tiers[static_cast<size_t>(tier)].bytes_written += bytes.keys.size() + bytes.values.size();
  return true;
}

void tiered_kv_store::erase_block(tiered_sequence& seq, int layer, int block) {
  auto& e = seq.blocks_[layer][block];
  if (e.tier == kv_tier::device && e.slot >= 0) {
    pool_->release(e.slot);
    e.slot = -1;
  } else if (storage::block_store* store = e.tier == kv_tier::host ? host_.get()
                                           : e.tier == kv_tier::nvme ? nvme_.get() : nullptr) {
    (void)store->erase(key_of(seq.id(), layer, block, kv_part::keys));
    (void)store->erase(key_of(seq.id(), layer, block, kv_part::values));
  }
}

kv_tier tiered_kv_store::move_block(tiered_sequence& seq, int layer, int block, kv_tier target) {
  auto& e = seq.blocks_[layer][block];
  if (e.tier == target || e.tier == kv_tier::dropped) return e.tier;
  block_bytes bytes;
  const bool readable = read_block(seq, layer, block, bytes);
  for (kv_tier t : candidates(e.tier, target)) {
    if (!readable && t != kv_tier::dropped) continue;  // lost: only recompute is left
    if (!write_block(seq, layer, block, t, bytes)) continue;
    const int new_slot = t == kv_tier::device ? e.slot : -1;
    if (t == kv_tier::device) e.slot = -1;  // erase_block must not free the new slot
    erase_block(seq, layer, block);
    e.tier = t;
    e.slot = new_slot;
    refresh_resident();
    return t;
  }
  return e.tier;
}

}  // namespace alisa::engine
