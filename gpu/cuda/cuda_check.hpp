#pragma once
// cuda_check — the gpu/ error style for CUDA, cuBLAS and NCCL calls: a failing call throws
// std::runtime_error naming the call, the file:line and the library's own error string, so a user
// sees "cudaMalloc(&p, 68719476736) failed at gpu/cuda/cuda_backend.cpp:57: out of memory" rather
// than a crash. Host code only.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <string>

namespace alisa::gpu::cuda {

[[noreturn]] void throw_cuda_error(const char* call, const char* file, int line, cudaError_t err);
[[noreturn]] void throw_cublas_error(const char* call, const char* file, int line,
                                     cublasStatus_t status);

}  // namespace alisa::gpu::cuda

#define ALISA_CUDA_CHECK(call)                                                              \
  do {                                                                                      \
    const cudaError_t alisa_cuda_err_ = (call);                                             \
    if (alisa_cuda_err_ != cudaSuccess)                                                     \
      ::alisa::gpu::cuda::throw_cuda_error(#call, __FILE__, __LINE__, alisa_cuda_err_);     \
  } while (0)

#define ALISA_CUBLAS_CHECK(call)                                                            \
  do {                                                                                      \
    const cublasStatus_t alisa_cublas_st_ = (call);                                         \
    if (alisa_cublas_st_ != CUBLAS_STATUS_SUCCESS)                                          \
      ::alisa::gpu::cuda::throw_cublas_error(#call, __FILE__, __LINE__, alisa_cublas_st_);  \
  } while (0)

// Checks the launch configuration of the kernel just launched (asynchronous faults surface at the
// next synchronising call, which is checked too).
#define ALISA_CUDA_CHECK_LAUNCH() ALISA_CUDA_CHECK(cudaGetLastError())
