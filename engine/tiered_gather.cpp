// tiered_sequence: gathering the rows a step attends to, one block at a time, from wherever the
// block lives (device slot, host or NVMe store, or recompute from hidden states).
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "engine/tiered_kv_store.hpp"
#include "engine/tiered_sequence.hpp"
#include "storage/block_codec.hpp"

namespace alisa::engine {
namespace {

void count_load(tier_stats& s, size_t tokens, uint64_t bytes) {
  s.tokens_loaded += tokens;
  s.hits += tokens;
  s.bytes_read += bytes;
}

}  // namespace

void tiered_sequence::gather_block(int layer, int block, std::span<const int32_t> positions,
                                   size_t first, size_t count, float* keys, float* values,
                                   std::vector<int32_t>& recompute, float* recompute_hidden) {
  block_entry& e = blocks_[layer][block];
  auto& be = store_.backend_;
  const size_t dim = static_cast<size_t>(store_.config_.kv_dim());
  std::vector<int32_t>& offsets = offsets_;  // reused: this runs per block, layer and step
  offsets.resize(count);
  for (size_t i = 0; i < count; ++i) offsets[i] = positions[first + i] % kv_block_tokens;
  auto& stats = store_.report_.tiers[static_cast<size_t>(e.tier)];
  const uint64_t bytes = count * store_.geometry_.kv_row_bytes;
  if (e.tier == kv_tier::device) {
    const bool staged = block >= num_full_blocks();  // int8: the open block is still in staging
    be.gather_kv(store_.pool_->keys(e.slot), offsets.data(), int(count), staged, keys + first * dim);
    be.gather_kv(store_.pool_->values(e.slot), offsets.data(), int(count), staged,
                 values + first * dim);
    count_load(stats, count, bytes);
    return;
  }
  if (e.tier == kv_tier::host || e.tier == kv_tier::nvme) {
    if (store_.fetch_rows(*this, layer, block, offsets, keys + first * dim, values + first * dim)) {
      count_load(stats, count, bytes);
      return;
    }
    stats.misses += count;
    if (e.hidden == hidden_place::absent)
      throw std::runtime_error(absl::StrCat(
          "KV block ", block, " of layer ", layer, " (sequence ", id_, ") could not be read from ",
          std::string(to_string(e.tier)), " and this policy keeps no hidden states to recompute it"));
    store_.erase_block(*this, layer, block);
    e.tier = kv_tier::dropped;
    store_.refresh_resident();
  }
  const size_t j0 = recompute.size();
  for (size_t i = 0; i < count; ++i) recompute.push_back(static_cast<int32_t>(first + i));
  if (!fetch_hidden_rows(layer, block, positions, first, count, j0, recompute_hidden))
    throw std::runtime_error(absl::StrCat("hidden states of block ", block, " of layer ", layer,
                                          " (sequence ", id_, ") are lost: cannot recompute"));
  auto& dropped = store_.report_.tiers[static_cast<size_t>(kv_tier::dropped)];
  dropped.tokens_loaded += count;
  dropped.hits += count;
  store_.report_.tokens_recomputed += count;
}

// Copies the hidden rows of positions[first, first+count) (one block) to
// recompute_hidden + (recompute_index + i) * hidden_size.
bool tiered_sequence::fetch_hidden_rows(int layer, int block, std::span<const int32_t> positions,
                                        size_t first, size_t count, size_t recompute_index,
                                        float* recompute_hidden) {
  const block_entry& e = blocks_[layer][block];
  const size_t width = static_cast<size_t>(store_.config_.hidden_size);
  const size_t row_bytes = width * sizeof(float);
  const char* rows = nullptr;
  std::string buffer;
  bool sliced = false;  // a memory node sent only the requested rows, in order
  if (e.hidden == hidden_place::kept) {
    rows = reinterpret_cast<const char*>(kept_hidden_[layer][block].data());
  } else if (e.hidden != hidden_place::absent) {
    const kv_tier t = e.hidden == hidden_place::host ? kv_tier::host : kv_tier::nvme;
    std::vector<int32_t> offsets(count);
    for (size_t i = 0; i < count; ++i) offsets[i] = positions[first + i] % kv_block_tokens;
    auto value = store_.load_rows(t, id_, layer, block, kv_part::hidden, offsets, buffer, sliced);
    if (!value) return false;
    auto view = storage::decode_block(*value, /*verify_checksum=*/t == kv_tier::nvme && !sliced);
    if (!view.ok()) return false;
    rows = view->rows.data();
    auto& s = store_.report_.tiers[static_cast<size_t>(t)];
    s.bytes_read += count * row_bytes;
  }
  if (!rows) return false;
  for (size_t i = 0; i < count; ++i) {
    const size_t row = sliced ? i : static_cast<size_t>(positions[first + i] % kv_block_tokens);
    store_.backend_.upload_async(recompute_hidden + (recompute_index + i) * width,
                                 rows + row * row_bytes, row_bytes);
  }
  return true;
}

// Token-granular copy out of a host or NVMe block: only the selected rows move to the device,
// as staged uploads (backend::upload_async) that overlap the kernels already queued; gather()
// commits them once the layer's rows are all queued.
// NVMe values are checksum-verified (a corrupt one is a miss); host RAM values are trusted.
bool tiered_kv_store::fetch_rows(const tiered_sequence& seq, int layer, int block,
                                 std::span<const int32_t> offsets, float* keys, float* values) {
  const auto& e = seq.blocks_[layer][block];
  const bool verify = e.tier == kv_tier::nvme;
  const size_t dim = static_cast<size_t>(config_.kv_dim());
  const gpu::kv_rows_layout layout = gpu::kv_layout_for(kv_type_, config_.kv_dim(), kv_block_tokens);
  std::string buffer;
  bool sliced = false;  // a memory node sent only the rows at `offsets`, in that order
  for (int part = 0; part < 2; ++part) {
    const kv_part which = part ? kv_part::values : kv_part::keys;
    std::optional<std::string_view> value;
    if (const auto* ready = seq.prefetched(block, which)) {  // fetched with the layer's batch
      sliced = true;
      if (ready->ok()) {
        value = std::string_view(**ready);
      } else if (absl::IsDataLoss(ready->status())) {
        report_.warnings.push_back(absl::StrCat("sequence ", seq.id(), " layer ", layer, " block ",
                                                block, ": ", std::string(ready->status().message()),
                                                "; recomputing it"));
        warn_(report_.warnings.back());
      }
    } else {
      value = load_rows(e.tier, seq.id(), layer, block, which, offsets, buffer, sliced);
    }
    if (!value) return false;
    auto view = storage::decode_block(*value, verify && !sliced);
    if (!view.ok()) {
      report_.warnings.push_back(absl::StrCat("sequence ", seq.id(), " layer ", layer, " block ",
                                              block, ": ", std::string(view.status().message()),
                                              "; recomputing it"));
      warn_(report_.warnings.back());
      return false;
    }
    float* out = part ? values : keys;
    const size_t row_bytes = view->header.row_bytes;
    // A value of another shape (not this sequence's, or damaged in a way the CRC did not cover)
    // would copy past the rows: a miss, recomputed.
    const size_t expected_rows = sliced ? offsets.size() : size_t{kv_block_tokens};
    if (row_bytes != geometry_.kv_row_bytes / 2 || view->header.num_tokens != expected_rows) {
      report_.warnings.push_back(absl::StrCat("sequence ", seq.id(), " layer ", layer, " block ",
                                              block, ": stored value has ", view->header.num_tokens,
                                              " rows of ", row_bytes, " bytes; recomputing it"));
      warn_(report_.warnings.back());
      return false;
    }
    const auto row_of = [&](size_t i) { return sliced ? i : static_cast<size_t>(offsets[i]); };
    if (kv_type_ == kv_dtype::f32) {
      for (size_t i = 0; i < offsets.size(); ++i)
        backend_.upload_async(out + i * dim, view->rows.data() + row_of(i) * row_bytes,
                              row_bytes);
      continue;
    }
    // Other dtypes: the selected rows (and int8 statistics) go to a device slot, which the
    // backend converts to fp32 the same way it reads the device tier.
    const gpu::kv_rows rows = gpu::carve_kv_rows(fetch_keys_, layout, kv_type_, config_.kv_dim());
    for (size_t i = 0; i < offsets.size(); ++i)
      backend_.upload_async(static_cast<char*>(rows.data) + offsets[i] * row_bytes,
                            view->rows.data() + row_of(i) * row_bytes, row_bytes);
    if (kv_type_ == kv_dtype::i8) {
      const size_t stat_bytes = view->stats.size() / 2;
      backend_.upload_async(rows.minimum, view->stats.data(), stat_bytes);
      backend_.upload_async(rows.scale, view->stats.data() + stat_bytes, stat_bytes);
    }
    backend_.commit_uploads();  // the conversion below reads the slot on the compute stream
    backend_.gather_kv(rows, offsets.data(), static_cast<int>(offsets.size()), false, out);
  }
  return true;
}

}  // namespace alisa::engine
