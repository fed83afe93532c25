#pragma once
// attention_work — the plain-data work table of the CUDA attention op: cuda_attention.cpp builds it
// on the host (one upload per call) and the kernels of cuda_attention_kernels.cu read it.
//
// Granularity: a "row" is one query row of one item; the kernels run one thread block per
// (row, split, query head). A row's list (identity [0, len) for dense, a token_set list for
// sparse) is processed whole by one block, except for the rows of single-row items (decode) with
// lists longer than kSplitTokens: those are cut into splits whose partials a merge kernel combines
// in split order. The split depends on the list length alone, so a row's bits never depend on the
// rest of the batch, and a sparse list holding every position gives the dense bits.
//
// Both compilers (g++ for the .cpp, nvcc for the .cu) see these structs; they hold only fixed-width
// integers, floats and pointers, so their layouts agree.
#include <cuda_runtime_api.h>

#include <cstdint>

namespace alisa::gpu::cuda::attn {

inline constexpr int kThreads = 128;     // threads per block of every attention kernel
inline constexpr int kTile = kThreads;   // list entries scored per online-softmax step
inline constexpr int kMaxHeadDim = 256;  // q of one head is kept in shared memory
inline constexpr int kSplitTokens = 512; // shortest split of a single-row item's list
inline constexpr int kMaxSplits = 32;    // splits per row at most (longer lists: longer splits)
inline constexpr int kChunkTokens = 64;  // int8 quantisation chunk (== kv_chunk_tokens)

// kv_dtype as the kernels see it (static_asserted against proto/kv_dtype.hpp in the .cpp).
enum kv_code : int32_t { kv_f32 = 0, kv_f16 = 1, kv_bf16 = 2, kv_i8 = 3 };

// backend.hpp kv_rows, device pointers.
struct kv_table {
  const void* data;
  const float* minimum;  // i8 only
  const float* scale;    // i8 only
  const float* staging;  // i8 only
  int32_t type;          // kv_code
  int32_t kv_dim;
};

// One attention_item with num_rows > 0.
struct item_entry {
  const float* q;      // [num_rows][num_heads * head_dim]
  float* out;          // same shape
  float* mass;         // nullptr unless mass rows are wanted
  kv_table keys, values;
  const int32_t* positions;  // device copy of token_set::positions; nullptr = dense (identity)
  int32_t list_stride;       // entries from one kv head's list to the next: 0 = one shared list
  int32_t list_size;         // sparse: entries per list; dense: 0
  int32_t num_rows, past_len;
  int32_t quantized_len;     // i8: (past_len + num_rows) / kChunkTokens * kChunkTokens
  int32_t mass_rows;         // reported rows (the last ones); 0 when mass is nullptr
  int32_t sum_rows;          // 1: the reported rows are added into one
  int32_t mass_cols;         // list_size (sparse) or past_len + num_rows (dense)
  int32_t first_row;         // row-table index of query row 0 (rows of an item are consecutive)
};

// One query row of one item.
struct row_entry {
  int32_t item;         // item_entry index
  int32_t row;          // query row within the item
  int32_t len;          // list entries: list_size (sparse) or past_len + row + 1 (dense)
  int32_t split_len;    // list entries per split (the last split may be shorter)
  int32_t num_splits;   // ceil(len / split_len)
  int32_t first_split;  // grid x of split 0
  int32_t partial;      // num_splits > 1: first partial slot (one per split); else -1
};

// Everything the launches need; pointers are device memory.
struct launch_args {
  const item_entry* items;
  const row_entry* rows;
  const int32_t* split_rows;  // [num_splits]: the row of each grid x of the attend kernel
  const int32_t* merge_rows;  // [num_merge_rows]: rows with num_splits > 1
  const int32_t* mass_items;  // [num_mass_items]: items with mass_rows > 0
  // [rows][num_heads][2]: the final running max M and normaliser Z of each (row, query head).
  float* stats;
  // [partial slots][num_heads][2 + head_dim]: a split's max m, normaliser l and unnormalised o.
  float* partials;
  int32_t num_heads, num_kv_heads, head_dim;
  float scale;
  int32_t num_splits;      // grid x of the attend kernel (sum of the rows' num_splits)
  int32_t num_merge_rows;
  int32_t num_mass_items;
  int32_t max_mass_cols;
};

// Queues the attend kernel, then the merge kernel (when a row is split) and the mass kernel (when
// mass is wanted) on `stream`; checks each launch. Requires num_splits > 0.
void launch_attention(const launch_args& args, cudaStream_t stream);

}  // namespace alisa::gpu::cuda::attn
