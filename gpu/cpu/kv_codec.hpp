#pragma once
// kv_codec — writing fp32 rows into a KV cache layer in its storage dtype (cpu_backend::append_kv).
//
// f16 / bf16: round to nearest, ties to even (convert.hpp), NaN stays NaN.
// i8: asymmetric per channel over chunks of kv_chunk_tokens positions (backend.hpp kv_rows):
//   for each channel c of a complete chunk, min = min_t x[t][c], max = max_t x[t][c],
//   scale = (max - min) / 255 (0 when max == min) and
//   code = clamp(round((x - min) / scale), 0, 255) (0 when scale == 0), with IEEE division and
//   round to nearest, ties to even. Decoding is x̂ = min + scale·code, so |x - x̂| ≤ scale/2 (up to
//   the fp32 rounding of the decode). Rows arrive in the fp32 staging chunk (slot pos % 64) and
//   the chunk is quantised when its last row (pos % 64 == 63) arrives; until then the attention
//   op reads the staging rows, which are exact.
#include <cstdint>

#include "gpu/backend.hpp"

namespace alisa::gpu::cpu::kv_codec {

// Writes rows [n][dst.kv_dim] at positions [length, length + n) of dst. Single-threaded; the
// caller may split non-i8 appends by rows. i8 assumes the staging rows of the chunk holding
// `length` (positions [length - length % 64, length)) were written by earlier appends, i.e. appends
// are sequential from a chunk boundary (a cache restarting at 0, or at any multiple of 64, is fine).
void append_rows(const kv_rows& dst, int64_t length, const float* rows, int64_t n);

// out[i] = fp32 row offsets[i] of src (f16/bf16 widened, i8 decoded as min + scale·code; with
// `staged`, i8 rows of the chunk holding an offset come from staging, which is exact).
// Single-threaded.
void gather_rows(const kv_rows& src, const int32_t* offsets, int64_t n, bool staged, float* out);

// Quantises one complete chunk: rows [kv_chunk_tokens][kv_dim] fp32 -> codes [kv_chunk_tokens]
// [kv_dim] plus minimum[kv_dim], scale[kv_dim], as described above.
void quantize_chunk(const float* rows, int64_t kv_dim, uint8_t* codes, float* minimum,
                    float* scale);

}  // namespace alisa::gpu::cpu::kv_codec
