#include "gpu/cuda/device_buffer.hpp"

#include <cuda_runtime_api.h>

#include "gpu/cuda/cuda_check.hpp"

namespace alisa::gpu::cuda {

device_buffer::~device_buffer() {
  if (data_) cudaFree(data_);  // no throw from a destructor; cudaFree syncs pending work
}

void* device_buffer::ensure(size_t bytes) {
  if (bytes <= bytes_ && data_) return data_;
  if (data_) ALISA_CUDA_CHECK(cudaFree(data_));  // waits for kernels still reading it
  data_ = nullptr;
  bytes_ = 0;
  const size_t grown = bytes < 4096 ? 4096 : bytes + bytes / 2;  // amortise regrowth
  ALISA_CUDA_CHECK(cudaMalloc(&data_, grown));
  bytes_ = grown;
  return data_;
}

pinned_buffer::~pinned_buffer() {
  if (data_) cudaFreeHost(data_);
}

void* pinned_buffer::ensure(size_t bytes) {
  if (bytes <= bytes_ && data_) return data_;
  if (data_) {
    ALISA_CUDA_CHECK(cudaDeviceSynchronize());  // a queued copy may still read the old buffer
    ALISA_CUDA_CHECK(cudaFreeHost(data_));
  }
  data_ = nullptr;
  bytes_ = 0;
  const size_t grown = bytes < 4096 ? 4096 : bytes + bytes / 2;
  ALISA_CUDA_CHECK(cudaMallocHost(&data_, grown));
  bytes_ = grown;
  return data_;
}

}  // namespace alisa::gpu::cuda
