#pragma once
// Launchers of the CUDA backend's element-wise, norm and embedding kernels
// (elementwise_kernels.cu). Every pointer is device memory; every launch is asynchronous on
// `stream` and checks its launch (ALISA_CUDA_CHECK_LAUNCH). Semantics are exactly those of the
// backend op of the same name (gpu/backend.hpp) and of the CPU reference (gpu/cpu/); n = token rows.
// Weight matrices of the CUDA backend are plain row-major [rows][cols] in w.type.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "gpu/backend.hpp"

namespace alisa::gpu::cuda {

// out[i] = fp32 row tokens[i] of table. tokens: device, already validated by the caller.
void launch_embed(const int32_t* tokens, int n, const weight_matrix& table, float* out,
                  cudaStream_t stream);
void launch_rms_norm(const float* x, int n, int dim, const float* gain, float eps, float* y,
                     cudaStream_t stream);
void launch_layer_norm(const float* x, int n, int dim, const float* gain, const float* bias,
                       float eps, float* y, cudaStream_t stream);
// positions: device. Angles in double as the CPU backend does (theta^(-2i/d) · pos).
void launch_rope(float* x, int n, int num_heads, int head_dim, const int32_t* positions,
                 float theta, model::rope_layout layout, cudaStream_t stream);
void launch_silu_mul(const float* gate, const float* up, int64_t count, float* y,
                     cudaStream_t stream);
void launch_relu(float* x, int64_t count, cudaStream_t stream);
void launch_add(float* x, const float* y, int64_t count, cudaStream_t stream);
// y[i][r] += bias[r] for i < n, r < rows.
void launch_add_bias(float* y, int n, int64_t rows, const float* bias, cudaStream_t stream);
// dst[i] = x[i] rounded to nearest even in `type` (f16 or bf16): GEMM inputs for 16-bit weights.
void launch_narrow(const float* x, int64_t count, dtype type, void* dst, cudaStream_t stream);
// Streams count floats once and writes their sum to *result (device): the bandwidth roofline.
void launch_read_sum(const float* p, int64_t count, float* result, cudaStream_t stream);

}  // namespace alisa::gpu::cuda
