#pragma once
// nccl_library — NCCL's entry points, resolved at run time with dlopen("libnccl.so.2"), so that
// nothing links libnccl: the binary starts (and falls back to CAF transfers) where NCCL is absent.
// Only the types come from <nccl.h> (header only). Built only with CUDA (gpu/peer/nccl_*.cpp);
// everything else goes through the CUDA-free gpu/peer/nccl_link.hpp.
//
// Where it looks: $ALISA_NCCL_LIBRARY when set (that file only), else "libnccl.so.2" through the
// loader's search path (LD_LIBRARY_PATH, ld.so.cache), else the CUDA toolkit's
// /usr/local/cuda/lib64/libnccl.so.2. The handle is never closed: NCCL's threads may outlive any
// owner we could name.
#include <nccl.h>

#include <stdexcept>
#include <string>

namespace alisa::gpu::nccl {

class nccl_library {
 public:
  // The process-wide library, loaded on first call; nullptr with `error` set ("libnccl.so.2 not
  // found: <dlerror>" or "<path> lacks ncclSend: <dlerror>") when it cannot be used. Thread-safe.
  static const nccl_library* load(std::string& error);
  // Loads `path` (not cached; tests). nullptr with `error` set on failure.
  static const nccl_library* load_from(const std::string& path, std::string& error);

  int version() const { return version_; }   // NCCL_VERSION_CODE, e.g. 22809
  std::string version_string() const;         // "2.28.9"
  const std::string& path() const { return path_; }  // the file the loader picked
  // "ncclSend(...) failed at file:line: NCCL error 6 (remote process exited or there was a network
  // error)": the error text for `result`, via ncclGetErrorString.
  std::string describe(const char* call, const char* file, int line, ncclResult_t result) const;

  decltype(&::ncclGetVersion) get_version = nullptr;
  decltype(&::ncclGetUniqueId) get_unique_id = nullptr;
  decltype(&::ncclCommInitRank) comm_init_rank = nullptr;
  // Optional (NCCL >= 2.14): lets init and transfers time out instead of blocking forever.
  decltype(&::ncclCommInitRankConfig) comm_init_rank_config = nullptr;
  decltype(&::ncclCommDestroy) comm_destroy = nullptr;
  decltype(&::ncclCommAbort) comm_abort = nullptr;
  decltype(&::ncclCommGetAsyncError) comm_get_async_error = nullptr;
  decltype(&::ncclSend) send = nullptr;
  decltype(&::ncclRecv) recv = nullptr;
  decltype(&::ncclGroupStart) group_start = nullptr;
  decltype(&::ncclGroupEnd) group_end = nullptr;
  decltype(&::ncclGetErrorString) get_error_string = nullptr;

 private:
  nccl_library() = default;
  // Resolves every symbol of `handle`; false with `error` naming the first one missing.
  bool resolve(void* handle, std::string& error);

  int version_ = 0;
  std::string path_;
};

}  // namespace alisa::gpu::nccl

// Throws std::runtime_error (via nccl_library::describe) unless `call` returns ncclSuccess.
#define ALISA_NCCL_CHECK(lib, call)                                                          \
  do {                                                                                       \
    const ncclResult_t alisa_nccl_res_ = (call);                                             \
    if (alisa_nccl_res_ != ncclSuccess)                                                      \
      throw std::runtime_error((lib).describe(#call, __FILE__, __LINE__, alisa_nccl_res_));  \
  } while (0)
