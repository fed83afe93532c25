#pragma once
// cublas_library — the cuBLAS entry points the CUDA backend calls, resolved at run time with
// dlopen("libcublas.so.13") the first time a CUDA backend is made. Linking cuBLAS instead would make
// every process of the single `alisa` binary (clients, coordinator, memory nodes, CPU workers)
// map ~600 MB of cuBLAS/cuBLASLt at start-up (0.14 s and ~230 MB resident for `alisa --help`).
// Only the types come from <cublas_v2.h> (header only). The handle is never closed.
//
// Where it looks: $ALISA_CUBLAS_LIBRARY when set, else "libcublas.so.13" through the loader's
// search path (LD_LIBRARY_PATH, ld.so.cache, this binary's RUNPATH), else the toolkit directory
// CMake found at build time.
#include <cublas_v2.h>

#include <string>

namespace alisa::gpu::cuda {

struct cublas_library {
  // The process-wide library, loaded on first call; throws std::runtime_error naming what was
  // tried when it cannot be loaded. Thread-safe.
  static const cublas_library& get();
  // The loaded library, or nullptr when get() has not succeeded (error messages use it).
  static const cublas_library* loaded();

  std::string path;  // the file the loader picked
  decltype(&::cublasCreate_v2) create = nullptr;
  decltype(&::cublasDestroy_v2) destroy = nullptr;
  decltype(&::cublasSetStream_v2) set_stream = nullptr;
  decltype(&::cublasSetMathMode) set_math_mode = nullptr;
  decltype(&::cublasSgemm_v2) sgemm = nullptr;
  // cublasGemmEx has a C++ overload (cudaDataType compute type): name the C entry point's type.
  using gemm_ex_fn = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int,
                                        int, int, const void*, const void*, cudaDataType, int,
                                        const void*, cudaDataType, int, const void*, void*,
                                        cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t);
  gemm_ex_fn gemm_ex = nullptr;
  decltype(&::cublasGetStatusName) status_name = nullptr;
  decltype(&::cublasGetStatusString) status_string = nullptr;
};

}  // namespace alisa::gpu::cuda
