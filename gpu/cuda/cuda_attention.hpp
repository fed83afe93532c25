#pragma once
// cuda_attention — backend::attention on the GPU (gpu/backend.hpp attention_item has the contract;
// the CPU backend's cpu_attention.cpp is the reference it is tested against).
//
// Host side (cuda_attention.cpp): validates the items with the same checks and messages as the
// CPU backend (gpu/attention_validation.hpp; plus head_dim <= attn::kMaxHeadDim), flattens them
// into a work table (gpu/cuda/attention_work.hpp: items, query rows, splits) and uploads it with
// the sparse position lists in one copy from a pinned staging slot. Device side
// (cuda_attention_kernels.cu), all items in one launch of each kernel:
// - attend: one thread block per (query row, split, query head) runs an online softmax over its
//   list in tiles (a warp scores an entry; K/V read in their stored dtype, int8 dequantised on
//   read, the open chunk from staging) and writes the output, or a split's partial, plus the
//   row's max and normaliser. Only rows of single-row items (decode, sparse) with lists longer
//   than attn::kSplitTokens are split, by a rule of the list length alone;
// - merge: combines a split row's partials in split order;
// - mass (when wanted): a warp per (item, kv head, column) recomputes each listed token's
//   probability from those statistics and sums it over the query heads of the kv head (and over
//   rows with sum_rows) in a fixed order, so mass needs no score buffer.
// Every result depends only on its own row's list and data (never on the batch or the grid), so
// runs are deterministic, a batch gives each item's solo bits, and a list holding every position
// gives the dense bits.
//
// One object per backend, driven by one thread; calls are asynchronous on `stream` and reuse the
// object's scratch, so every call of one object must use the same stream (or calls must be
// ordered by the caller). A staging slot is rewritten only after the copy that last read it has
// completed (one event per slot).
#include <cuda_runtime_api.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "gpu/backend.hpp"
#include "gpu/cuda/attention_work.hpp"
#include "gpu/cuda/device_buffer.hpp"

namespace alisa::gpu::cuda {

class cuda_attention {
 public:
  cuda_attention() = default;
  ~cuda_attention();
  cuda_attention(const cuda_attention&) = delete;
  cuda_attention& operator=(const cuda_attention&) = delete;

  // Throws std::invalid_argument for malformed items (before any copy or launch).
  void run(std::span<const attention_item> items, const attention_shape& shape,
           cudaStream_t stream);

 private:
  struct staging_slot {
    pinned_buffer host;
    cudaEvent_t copied = nullptr;  // recorded after the upload that read `host`
  };
  static constexpr size_t kStagingSlots = 4;

  // Host side of the work table, rebuilt by every call (kept for their capacity).
  std::vector<attn::item_entry> items_;
  std::vector<attn::row_entry> rows_;
  std::vector<int32_t> split_rows_, merge_rows_, mass_items_;
  std::vector<int32_t> positions_;        // the sparse items' token_set::positions, concatenated
  std::vector<int64_t> position_offset_;  // per items_ entry: index into positions_, or -1

  std::array<staging_slot, kStagingSlots> staging_;
  size_t next_slot_ = 0;
  device_buffer work_;   // the uploaded work table and position lists
  device_buffer stats_;  // per (row, head) max/normaliser, then the split partials
};

}  // namespace alisa::gpu::cuda
