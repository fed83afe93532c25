#include "gpu/cuda/cublas_library.hpp"

#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "gpu/dynamic_library.hpp"

#ifndef ALISA_CUDA_LIBRARY_DIR
#define ALISA_CUDA_LIBRARY_DIR "/usr/local/cuda/lib64"
#endif

namespace alisa::gpu::cuda {
namespace {

constexpr const char* kSoname = "libcublas.so.13";

std::unique_ptr<cublas_library> load_from(const std::string& path, std::string& error) {
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    error = path + " not loadable: " + dynlib::last_error();
    return nullptr;
  }
  auto lib = std::make_unique<cublas_library>();
  std::string why;
  if (!dynlib::resolve(handle, "cublasCreate_v2", lib->create, why) ||
      !dynlib::resolve(handle, "cublasDestroy_v2", lib->destroy, why) ||
      !dynlib::resolve(handle, "cublasSetStream_v2", lib->set_stream, why) ||
      !dynlib::resolve(handle, "cublasSetMathMode", lib->set_math_mode, why) ||
      !dynlib::resolve(handle, "cublasSgemm_v2", lib->sgemm, why) ||
      !dynlib::resolve(handle, "cublasGemmEx", lib->gemm_ex, why) ||
      !dynlib::resolve(handle, "cublasGetStatusName", lib->status_name, why) ||
      !dynlib::resolve(handle, "cublasGetStatusString", lib->status_string, why)) {
    error = path + " " + why;
    ::dlclose(handle);
    return nullptr;
  }
  lib->path = dynlib::mapped_path(reinterpret_cast<const void*>(lib->create), path);
  return lib;
}

std::once_flag g_once;
std::unique_ptr<cublas_library> g_library;
std::string g_error;

void load_once() {
  if (const char* forced = std::getenv("ALISA_CUBLAS_LIBRARY"); forced && *forced) {
    g_library = load_from(forced, g_error);
    if (!g_library) g_error += " (from $ALISA_CUBLAS_LIBRARY)";
    return;
  }
  std::string soname_error, toolkit_error;
  g_library = load_from(kSoname, soname_error);
  if (g_library) return;
  const std::string toolkit = std::string(ALISA_CUDA_LIBRARY_DIR) + "/" + kSoname;
  g_library = load_from(toolkit, toolkit_error);
  if (g_library) return;
  g_error = "cuBLAS not found: " + soname_error + "; " + toolkit_error +
            " (install the CUDA 13 toolkit's cuBLAS, or set LD_LIBRARY_PATH or ALISA_CUBLAS_LIBRARY)";
}

}  // namespace

const cublas_library& cublas_library::get() {
  std::call_once(g_once, load_once);
  if (!g_library) throw std::runtime_error(g_error);
  return *g_library;
}

const cublas_library* cublas_library::loaded() { return g_library.get(); }

}  // namespace alisa::gpu::cuda
