#pragma once
// Launchers of the CUDA backend's selection kernels (select_kernels.cu, CUB radix sorts):
// top-k token selection and sampling, with the same results as the CPU backend's (backend.hpp
// top_k / sample_token). All pointers device memory unless said; each call synchronises `stream`
// before returning its host result.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "gpu/cuda/device_buffer.hpp"
#include "proto/sampling_params.hpp"

namespace alisa::gpu::cuda {

struct select_scratch {
  device_buffer keys, values, temp, result;
  pinned_buffer host;
};

// Indices of the k largest of scores[0, count) (ties: lower index first), written to the host
// array out_host in ascending index order. Requires 0 < k <= count.
void top_k(const float* scores, int count, int k, int32_t* out_host, select_scratch& scratch,
           cudaStream_t stream);
// The token backend::sample_token picks for logits[0, vocab) with params and the uniform draw u
// in [0, 1).
int32_t sample_token(const float* logits, int vocab, const sampling_params& params, double u,
                     select_scratch& scratch, cudaStream_t stream);

}  // namespace alisa::gpu::cuda
