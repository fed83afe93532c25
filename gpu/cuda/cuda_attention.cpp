// cuda_attention — host side: validation, the work table, its upload and the launches (see
// cuda_attention.hpp).
#include "gpu/cuda/cuda_attention.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "gpu/attention_validation.hpp"
#include "gpu/cuda/cuda_check.hpp"

namespace alisa::gpu::cuda {
namespace {

static_assert(attn::kChunkTokens == kv_chunk_tokens);
static_assert(static_cast<int32_t>(kv_dtype::f32) == attn::kv_f32 &&
              static_cast<int32_t>(kv_dtype::f16) == attn::kv_f16 &&
              static_cast<int32_t>(kv_dtype::bf16) == attn::kv_bf16 &&
              static_cast<int32_t>(kv_dtype::i8) == attn::kv_i8);
static_assert(attn::kSplitTokens % attn::kTile == 0);

constexpr size_t kAlign = 16;

size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// List entries per split of a row with `len` entries: the whole list unless the row belongs to a
// single-row item and the list is longer than kSplitTokens; then at least kSplitTokens, a multiple
// of the tile, and at most kMaxSplits splits. A function of (len, single_row) only.
int32_t split_len_of(int32_t len, bool single_row) {
  if (!single_row || len <= attn::kSplitTokens) return len;
  const int64_t even = ceil_div(ceil_div(len, attn::kMaxSplits), attn::kTile) * attn::kTile;
  return static_cast<int32_t>(std::max<int64_t>(attn::kSplitTokens, even));
}

attn::kv_table table_of(const kv_rows& r) {
  attn::kv_table t{};
  t.data = r.data;
  t.minimum = r.minimum;
  t.scale = r.scale;
  t.staging = r.staging;
  t.type = static_cast<int32_t>(r.type);
  t.kv_dim = r.kv_dim;
  return t;
}

int32_t checked_int32(int64_t n, const char* what) {
  if (n > std::numeric_limits<int32_t>::max())
    throw std::invalid_argument(std::string("attention: too many ") + what + " for one call (" +
                                std::to_string(n) + ")");
  return static_cast<int32_t>(n);
}

template <typename T>
void put(unsigned char* base, size_t offset, const std::vector<T>& v) {
  if (!v.empty()) std::memcpy(base + offset, v.data(), v.size() * sizeof(T));
}

}  // namespace

cuda_attention::~cuda_attention() {
  for (auto& slot : staging_)
    if (slot.copied) (void)cudaEventDestroy(slot.copied);  // never throws from a destructor
}

void cuda_attention::run(std::span<const attention_item> items, const attention_shape& shape,
                         cudaStream_t stream) {
  validate_attention(items, shape);
  if (std::none_of(items.begin(), items.end(),
                   [](const attention_item& it) { return it.num_rows > 0; }))
    return;  // nothing to compute (an empty span included)
  if (shape.head_dim > attn::kMaxHeadDim)
    throw std::invalid_argument("attention: head_dim " + std::to_string(shape.head_dim) +
                                " above the CUDA backend's limit " +
                                std::to_string(attn::kMaxHeadDim));

  // --- the work table -------------------------------------------------------------------------
  items_.clear();
  rows_.clear();
  split_rows_.clear();
  merge_rows_.clear();
  mass_items_.clear();
  positions_.clear();
  position_offset_.clear();
  int64_t num_splits = 0, partial_slots = 0;
  int32_t max_mass_cols = 0;
  for (const attention_item& it : items) {
    if (it.num_rows == 0) continue;
    const bool sparse = it.tokens && !it.tokens->dense;
    const auto item_index = checked_int32(static_cast<int64_t>(items_.size()), "items");
    const int64_t total = int64_t{it.past_len} + it.num_rows;
    attn::item_entry e{};
    e.q = it.q;
    e.out = it.out;
    e.keys = table_of(it.keys);
    e.values = table_of(it.values);
    e.num_rows = it.num_rows;
    e.past_len = it.past_len;
    e.quantized_len = checked_int32(total / kv_chunk_tokens * kv_chunk_tokens, "positions");
    e.first_row = checked_int32(static_cast<int64_t>(rows_.size()), "query rows");
    if (sparse) {
      const token_set& ts = *it.tokens;
      position_offset_.push_back(static_cast<int64_t>(positions_.size()));
      positions_.insert(positions_.end(), ts.positions.begin(), ts.positions.end());
      e.list_stride = ts.num_lists == 1 ? 0 : ts.list_size;
      e.list_size = ts.list_size;
    } else {
      position_offset_.push_back(-1);
    }
    if (it.mass && it.mass_rows.num_rows > 0) {
      e.mass = it.mass;
      e.mass_rows = it.mass_rows.num_rows;
      e.sum_rows = it.mass_rows.sum_rows ? 1 : 0;
      e.mass_cols = checked_int32(sparse ? int64_t{it.tokens->list_size} : total, "mass columns");
      mass_items_.push_back(item_index);
      max_mass_cols = std::max(max_mass_cols, e.mass_cols);
    }
    for (int r = 0; r < it.num_rows; ++r) {
      attn::row_entry row{};
      row.item = item_index;
      row.row = r;
      row.len = sparse ? it.tokens->list_size : checked_int32(int64_t{it.past_len} + r + 1, "positions");
      row.split_len = split_len_of(row.len, it.num_rows == 1);
      row.num_splits = static_cast<int32_t>(ceil_div(row.len, row.split_len));
      row.first_split = checked_int32(num_splits, "splits");
      row.partial = -1;
      const auto row_index = checked_int32(static_cast<int64_t>(rows_.size()), "query rows");
      if (row.num_splits > 1) {
        row.partial = checked_int32(partial_slots, "splits");
        partial_slots += row.num_splits;
        merge_rows_.push_back(row_index);
      }
      split_rows_.insert(split_rows_.end(), static_cast<size_t>(row.num_splits), row_index);
      num_splits += row.num_splits;
      rows_.push_back(row);
    }
    items_.push_back(e);
  }
  checked_int32(num_splits, "splits");

  // --- one upload: [items | rows | split_rows | merge_rows | mass_items | positions] -------------
  const size_t at_rows = align_up(items_.size() * sizeof(attn::item_entry));
  const size_t at_splits = align_up(at_rows + rows_.size() * sizeof(attn::row_entry));
  const size_t at_merge = align_up(at_splits + split_rows_.size() * sizeof(int32_t));
  const size_t at_mass = align_up(at_merge + merge_rows_.size() * sizeof(int32_t));
  const size_t at_positions = align_up(at_mass + mass_items_.size() * sizeof(int32_t));
  const size_t bytes = at_positions + positions_.size() * sizeof(int32_t);
  auto* device = static_cast<unsigned char*>(work_.ensure(bytes));
  const auto* device_positions = reinterpret_cast<const int32_t*>(device + at_positions);
  for (size_t i = 0; i < items_.size(); ++i)
    if (position_offset_[i] >= 0) items_[i].positions = device_positions + position_offset_[i];

  staging_slot& slot = staging_[next_slot_];
  next_slot_ = (next_slot_ + 1) % kStagingSlots;
  if (slot.copied) ALISA_CUDA_CHECK(cudaEventSynchronize(slot.copied));  // its last copy is done
  auto* host = static_cast<unsigned char*>(slot.host.ensure(bytes));
  put(host, 0, items_);
  put(host, at_rows, rows_);
  put(host, at_splits, split_rows_);
  put(host, at_merge, merge_rows_);
  put(host, at_mass, mass_items_);
  put(host, at_positions, positions_);
  ALISA_CUDA_CHECK(cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, stream));
  if (!slot.copied) ALISA_CUDA_CHECK(cudaEventCreateWithFlags(&slot.copied, cudaEventDisableTiming));
  ALISA_CUDA_CHECK(cudaEventRecord(slot.copied, stream));

  // --- scratch and launches -----------------------------------------------------------------------
  const size_t stats_floats = rows_.size() * static_cast<size_t>(shape.num_heads) * 2;
  const size_t partial_floats = static_cast<size_t>(partial_slots) *
                                static_cast<size_t>(shape.num_heads) *
                                (static_cast<size_t>(shape.head_dim) + 2);
  auto* scratch = static_cast<float*>(stats_.ensure((stats_floats + partial_floats) * sizeof(float)));

  attn::launch_args args{};
  args.items = reinterpret_cast<const attn::item_entry*>(device);
  args.rows = reinterpret_cast<const attn::row_entry*>(device + at_rows);
  args.split_rows = reinterpret_cast<const int32_t*>(device + at_splits);
  args.merge_rows = reinterpret_cast<const int32_t*>(device + at_merge);
  args.mass_items = reinterpret_cast<const int32_t*>(device + at_mass);
  args.stats = scratch;
  args.partials = scratch + stats_floats;
  args.num_heads = shape.num_heads;
  args.num_kv_heads = shape.num_kv_heads;
  args.head_dim = shape.head_dim;
  args.scale = shape.scale;
  args.num_splits = static_cast<int32_t>(num_splits);
  args.num_merge_rows = static_cast<int32_t>(merge_rows_.size());
  args.num_mass_items = static_cast<int32_t>(mass_items_.size());
  args.max_mass_cols = max_mass_cols;
  attn::launch_attention(args, stream);
}

}  // namespace alisa::gpu::cuda
