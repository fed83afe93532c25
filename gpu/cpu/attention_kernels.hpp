#pragma once
// Highway kernels of the CPU attention op; cpu_attention.cpp validates, schedules and threads them.
//
// A "work row" is one query row of one sequence and one kv head, with the `group` query heads that
// read that kv head (GQA). It attends over a list of token positions: the identity list [0, len)
// for a dense (causal) row, a token_set list for a sparse one. The list is cut into blocks of
// kBlockTokens entries; attend_block() computes one block's softmax partial for every head g:
//   s_gj = scale · q_g·k_j,  m_g = max_j s_gj,  e_gj = exp(s_gj - m_g),  l_g = Σ_j e_gj,
//   o_g = Σ_j e_gj v_j
// and merge_blocks() combines the partials in block order:
//   M = max_b m_b,  w_b = exp(m_b - M),  Z = Σ_b w_b l_b,  out = (Σ_b w_b o_b) · (1/Z),
//   mass_j = Σ_g e_gj · (w_b(j) / Z)   (token j's probability summed over the group, g in order).
// Nothing depends on which thread runs a block or how blocks are grouped into tasks, so results
// are identical for any thread count, and a sparse list holding every position gives the dense
// result bit for bit (the same blocks, the same arithmetic).
//
// K/V are read in their stored dtype and widened in registers inside the kernel (kv_view):
// - f32, f16 and bf16 rows are read in place;
// - i8: positions >= quantized_len are the exact fp32 staging rows (read in place); a run of at
//   least kMinAffineRun consecutive list entries inside one quantisation chunk c is computed on
//   the raw codes u with the chunk statistics folded in,
//     q·k = (q ⊙ scale_c)·u + q·min_c,   Σ_j e_j v_j = scale_c ⊙ (Σ_j e_j u_j) + min_c · Σ_j e_j,
//   and shorter runs (scattered sparse picks) are dequantised per row into the workspace,
//   x = min_c + scale_c·u, then read as fp32.
#include <cstddef>
#include <cstdint>

#include "gpu/backend.hpp"
#include "proto/kv_dtype.hpp"

namespace alisa::gpu::cpu::attn {

// List entries per block: one quantisation chunk, so dense blocks never straddle chunks.
inline constexpr int64_t kBlockTokens = kv_chunk_tokens;
// Shortest same-chunk run of an i8 block computed on raw codes (shorter runs are dequantised):
// below it the per-run statistics folding costs more than dequantising each row (measured with
// ALISA-like lists, 9/3 heads of 64).
inline constexpr int64_t kMinAffineRun = 12;

// One kv head's keys or values as a cache stores them (backend.hpp kv_rows), narrowed to the head.
struct kv_view {
  kv_dtype type = kv_dtype::f32;
  const void* data = nullptr;        // [capacity][kv_dim] in `type`
  const float* minimum = nullptr;    // i8: [chunks][kv_dim]
  const float* scale = nullptr;      // i8: [chunks][kv_dim]
  const float* staging = nullptr;    // i8: [kv_chunk_tokens][kv_dim]
  int64_t kv_dim = 0;
  int64_t offset = 0;                // kv_head * head_dim: the head's first channel
  int64_t quantized_len = 0;         // i8: positions below come from codes, the rest from staging
};

// One kv head of a cache's keys or values for an item of total_len positions (int8: its complete
// chunks are codes, the rest staging).
inline kv_view head_view(const kv_rows& r, int kv_head, int head_dim, int64_t total_len) {
  kv_view v;
  v.type = r.type;
  v.data = r.data;
  v.minimum = r.minimum;
  v.scale = r.scale;
  v.staging = r.staging;
  v.kv_dim = r.kv_dim;
  v.offset = int64_t{kv_head} * head_dim;
  v.quantized_len = total_len / kv_chunk_tokens * kv_chunk_tokens;
  return v;
}

// Floats of one block's partial: per head m, l, then o[head_dim].
inline int64_t partial_floats(int group, int head_dim) {
  return int64_t{group} * (2 + int64_t{head_dim});
}
// Floats of the workspace attend_block() needs.
size_t block_workspace_floats(int group, int head_dim);

struct block_task {
  const float* q = nullptr;  // [group][head_dim]: the query heads of this kv head
  int group = 1;
  int head_dim = 0;
  float scale = 1.0f;
  kv_view keys, values;
  const int32_t* positions = nullptr;  // list entry j -> position positions[j]; nullptr: identity
  int64_t begin = 0;                   // list entries [begin, begin + count), count <= kBlockTokens
  int64_t count = 0;
  // Out: e_gj at e[g * e_stride + (j - begin)]; nullptr keeps them in the workspace (not needed
  // after the block).
  float* e = nullptr;
  int64_t e_stride = 0;
  float* partial = nullptr;    // out: partial_floats(group, head_dim)
  float* workspace = nullptr;  // block_workspace_floats(group, head_dim)
};
void attend_block(const block_task& t);

struct merge_task {
  const float* partials = nullptr;  // num_blocks consecutive partials
  int64_t num_blocks = 0;
  int group = 1;
  int head_dim = 0;
  float* out = nullptr;             // [group][head_dim]
  // Mass (optional): e as attend_block() wrote it for every block, e[g * e_stride + j] for list
  // entry j in [0, len); mass[j] for j < len, zeros in [len, mass_cols).
  const float* e = nullptr;
  int64_t e_stride = 0;
  int64_t len = 0;
  float* mass = nullptr;
  int64_t mass_cols = 0;
  float* workspace = nullptr;  // merge_workspace_floats(group, num_blocks)
};
inline size_t merge_workspace_floats(int group, int64_t num_blocks) {
  return static_cast<size_t>(group) * static_cast<size_t>(num_blocks);
}
void merge_blocks(const merge_task& t);

}  // namespace alisa::gpu::cpu::attn
