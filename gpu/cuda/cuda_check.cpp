#include "gpu/cuda/cuda_check.hpp"

#include <stdexcept>

#include "gpu/cuda/cublas_library.hpp"

namespace alisa::gpu::cuda {

void throw_cuda_error(const char* call, const char* file, int line, cudaError_t err) {
  throw std::runtime_error(std::string(call) + " failed at " + file + ":" + std::to_string(line) +
                           ": " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")");
}

void throw_cublas_error(const char* call, const char* file, int line, cublasStatus_t status) {
  const cublas_library* lib = cublas_library::loaded();
  const std::string text = lib ? std::string(lib->status_name(status)) + " (" +
                                     lib->status_string(status) + ")"
                               : "cuBLAS status " + std::to_string(static_cast<int>(status));
  throw std::runtime_error(std::string(call) + " failed at " + file + ":" + std::to_string(line) +
                           ": " + text);
}

}  // namespace alisa::gpu::cuda
