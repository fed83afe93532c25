#pragma once
// Tiled causal attention for multi-row dense items (prefill chunks): Highway kernels that
// cpu_tiled_attention.cpp schedules.
//
// The per-row kernel (attention_kernels.hpp) reads every key and value once per query row; at
// long context a prefill row then costs a whole pass over the K/V in memory. Here a *tile* of
// query vectors (the `group` heads of one kv head for up to kTileRows consecutive rows) walks the
// keys in blocks of kKeyBlock positions, and every key/value row of a block is read once for the
// whole tile, from L1, as register-blocked GEMMs in a transposed layout: the queries are packed
// once per chunk as Qᵀ [head_dim][vectors] (scale applied), so
//   Sᵀ[j][·] = Σ_d K[j][d] · Qᵀ[d][·]       (a key channel broadcast against query vectors),
//   online softmax per query (running max m and normaliser l, vectorised across queries),
//   Oᵀ[d][·] = Oᵀ[d][·]·α + Σ_j V[j][d] · Pᵀ[j][·],   and finally out = O / l.
// K and V rows are read where they are stored (fp32) or converted once per block (fp16, bf16,
// int8 dequantised like the per-row kernel).
//
// Blocks are aligned to absolute positions and each query's arithmetic is a chain over keys and
// channels in a fixed order (a key past a query's position adds exactly 0 and rescales by exactly
// 1), so the output of a row is bit-identical whatever tile, chunk or thread computes it: chunked
// prefill gives the bits of a whole-prompt prefill. It is not bit-identical to the per-row kernel.
//
// Attention mass (the probabilities SWA and H2O score with) is a second pass, one key block at a
// time: with each query's final m and l, p = exp(s − m) / l is recomputed for the rows that
// report mass and summed, so no [rows][positions] probability matrix is ever stored and one
// block's columns have one owner.
#include <cstddef>
#include <cstdint>

#include "gpu/cpu/attention_kernels.hpp"

namespace alisa::gpu::cpu::tiled {

inline constexpr int64_t kKeyBlock = 64;   // = one int8 quantisation chunk: never straddles one
inline constexpr int kTileRows = 64;       // query rows of one tile
inline constexpr int64_t kVectorPad = 16;  // query vector counts are padded to the widest vector

inline int64_t padded_vectors(int64_t vectors) {
  return (vectors + kVectorPad - 1) / kVectorPad * kVectorPad;
}

// One kv head's packed queries: vector v (row v / group, head v % group) has channel d at
// qt[d * stride + v] (already multiplied by the softmax scale) and sits at position[v]. Kernels
// read up to kVectorPad vectors past a task's last one (and its m, l): those must be readable,
// zero queries at the last row's position; they are computed and never written out.
struct packed_queries {
  const float* qt = nullptr;
  int64_t stride = 0;
  const int32_t* position = nullptr;
  int group = 1;
  int head_dim = 0;
};

struct tile_task {
  packed_queries queries;
  int64_t first = 0;  // the tile's vectors [first, first + count)
  int64_t count = 0;
  attn::kv_view keys, values;
  int64_t num_keys = 0;  // positions [0, num_keys) exist (past_len + num_rows)
  // Row r, head g of the tile's vectors (v - first = r·group + g) at out[r·out_stride + g·head_dim].
  float* out = nullptr;
  int64_t out_stride = 0;
  float* m = nullptr;  // optional: final max and normaliser of vector v at m[v], l[v] (absolute v)
  float* l = nullptr;
  float* workspace = nullptr;  // workspace_floats(group, head_dim)
};
size_t workspace_floats(int group, int head_dim);
void attend_tile(const tile_task& t);

// The mass of the key block [block·kKeyBlock, +kKeyBlock) ∩ [0, cols) of one kv head, for the
// vectors [first, first + count) (whole rows; `group` per row) whose final m and l are given.
struct mass_task {
  packed_queries queries;
  int64_t first = 0;
  int64_t count = 0;
  const float* m = nullptr;  // absolute vector index, as tile_task writes them
  const float* l = nullptr;
  attn::kv_view keys;
  int64_t block = 0;
  int64_t cols = 0;
  // sum_rows: mass[j] = Σ over every vector of p_vj; else mass[r · row_stride + j] = Σ_g p over
  // the group of row r (r counted from the first vector's row; zero past the row's position).
  float* mass = nullptr;
  int64_t row_stride = 0;
  bool sum_rows = false;
  float* workspace = nullptr;  // workspace_floats(group, head_dim)
};
void mass_block(const mass_task& t);

}  // namespace alisa::gpu::cpu::tiled
