#pragma once
// Launcher of the CUDA backend's row-exact projection (row_exact_linear.cu). Pointers are device
// memory; the launch is asynchronous on `stream` and checks itself (ALISA_CUDA_CHECK_LAUNCH).
// Weight matrices of the CUDA backend are plain row-major [rows][cols] in w.type.
#include <cuda_runtime_api.h>

#include "gpu/backend.hpp"

namespace alisa::gpu::cuda {

// y[n, w.rows] = x[n, w.cols] · wᵀ (+ bias) with one fixed summation order per output element,
// so a row of y is bit-identical whatever n is (backend::linear_row_exact).
void launch_linear_row_exact(const float* x, int n, const weight_matrix& w, float* y,
                             cudaStream_t stream);

}  // namespace alisa::gpu::cuda
