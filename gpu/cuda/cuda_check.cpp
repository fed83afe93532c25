#include "gpu/cuda/cuda_check.hpp"

#include <stdexcept>

namespace alisa::gpu::cuda {

void throw_cuda_error(const char* call, const char* file, int line, cudaError_t err) {
  throw std::runtime_error(std::string(call) + " failed at " + file + ":" + std::to_string(line) +
                           ": " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")");
}

void throw_cublas_error(const char* call, const char* file, int line, cublasStatus_t status) {
  throw std::runtime_error(std::string(call) + " failed at " + file + ":" + std::to_string(line) +
                           ": " + cublasGetStatusName(status) + " (" +
                           cublasGetStatusString(status) + ")");
}

}  // namespace alisa::gpu::cuda
