#pragma once
// attention_benchmark — the attention op's speed on its own, for `alisa bench attention`: a chunk
// of `rows` prompt rows at the end of each context length (the last chunk of a chunked prefill,
// the most expensive one), timed three ways on one backend, interleaved round by round:
// - the op as the forward pass calls it (one multi-row item: the CPU backend's tiled kernel),
// - the same rows as single-row items (the per-row kernel every row used before tiling),
// - the matrix kernel (linear) on an FFN-shaped weight, the FLOP rate attention is compared with.
// FLOPs of a row at position p: 4 · head_dim · (p + 1) per query head (QKᵀ and PV).
#include <vector>

#include "gpu/backend.hpp"

namespace alisa::gpu {

struct attention_bench_options {
  int num_heads = 6;
  int num_kv_heads = 6;
  int head_dim = 48;
  std::vector<int> contexts{4096, 8192, 16384};
  int rows = 256;       // query rows of the chunk
  int mass_rows = 0;    // rows reporting attention mass, summed (SWA's window, H2O's whole chunk)
  kv_dtype kv = kv_dtype::f32;
  int rounds = 3;       // interleaved rounds; medians are reported
  bool per_row = true;  // also time the per-row kernel
};

struct attention_bench_point {
  int context = 0;
  double flops = 0;            // of the chunk's attention
  double op_ms = 0;            // medians over rounds
  double per_row_ms = 0;       // 0 when not timed
  double matrix_gflops = 0;
  double op_gflops() const { return op_ms > 0 ? flops / op_ms / 1e6 : 0; }
  double per_row_gflops() const { return per_row_ms > 0 ? flops / per_row_ms / 1e6 : 0; }
};

// Throws std::invalid_argument for inconsistent options (heads not a multiple of kv heads,
// rows outside [1, context], non-positive sizes).
std::vector<attention_bench_point> run_attention_benchmark(backend& be,
                                                           const attention_bench_options& o);

}  // namespace alisa::gpu
