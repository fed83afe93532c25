#pragma once
// Launchers of the CUDA backend's KV-row kernels (kv_kernels.cu): writing fp32 rows into a cache
// layer in its storage dtype and gathering rows back as fp32. Bit-exact with the CPU codec
// (gpu/cpu/kv_codec.hpp): f16/bf16 round to nearest even; i8 quantises a chunk when its last row
// arrives, with IEEE division and rintf. All pointers device memory; asynchronous on `stream`.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "gpu/backend.hpp"

namespace alisa::gpu::cuda {

// backend::append_kv. rows: [n][dst.kv_dim] fp32.
void launch_append_kv(const kv_rows& dst, int length, const float* rows, int n,
                      cudaStream_t stream);
// backend::gather_kv. offsets: device, each in [0, capacity).
void launch_gather_kv(const kv_rows& src, const int32_t* offsets, int n, bool staged, float* out,
                      cudaStream_t stream);

}  // namespace alisa::gpu::cuda
