// Built only with CUDA (gpu/CMakeLists.txt); the guard keeps a stray glob from needing <nccl.h>.
#ifdef ALISA_HAVE_CUDA

#include "gpu/peer/nccl_library.hpp"

#include "gpu/dynamic_library.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace alisa::gpu::nccl {
namespace {

constexpr const char* kSoname = "libnccl.so.2";
constexpr const char* kToolkitPath = "/usr/local/cuda/lib64/libnccl.so.2";

using dynlib::last_error;
using dynlib::mapped_path;

template <class Fn>
bool resolve_one(void* handle, const char* symbol, Fn& out, std::string& error) {
  return dynlib::resolve(handle, symbol, out, error);
}

}  // namespace

bool nccl_library::resolve(void* handle, std::string& error) {
  if (!resolve_one(handle, "ncclGetVersion", get_version, error) ||
      !resolve_one(handle, "ncclGetUniqueId", get_unique_id, error) ||
      !resolve_one(handle, "ncclCommInitRank", comm_init_rank, error) ||
      !resolve_one(handle, "ncclCommDestroy", comm_destroy, error) ||
      !resolve_one(handle, "ncclCommAbort", comm_abort, error) ||
      !resolve_one(handle, "ncclCommGetAsyncError", comm_get_async_error, error) ||
      !resolve_one(handle, "ncclSend", send, error) ||
      !resolve_one(handle, "ncclRecv", recv, error) ||
      !resolve_one(handle, "ncclGroupStart", group_start, error) ||
      !resolve_one(handle, "ncclGroupEnd", group_end, error) ||
      !resolve_one(handle, "ncclGetErrorString", get_error_string, error))
    return false;
  std::string optional_error;
  if (!resolve_one(handle, "ncclCommInitRankConfig", comm_init_rank_config, optional_error))
    comm_init_rank_config = nullptr;  // older NCCL: blocking init only
  return true;
}

const nccl_library* nccl_library::load_from(const std::string& path, std::string& error) {
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    error = path + " not loadable: " + last_error();
    return nullptr;
  }
  std::unique_ptr<nccl_library> lib(new nccl_library());
  std::string why;
  if (!lib->resolve(handle, why)) {
    error = path + " " + why;
    ::dlclose(handle);  // no NCCL call ran: nothing of it can still be running
    return nullptr;
  }
  lib->path_ = mapped_path(reinterpret_cast<const void*>(lib->get_version), path);
  if (lib->get_version(&lib->version_) != ncclSuccess) lib->version_ = 0;
  return lib.release();  // never freed: see the header
}

const nccl_library* nccl_library::load(std::string& error) {
  static std::once_flag once;
  static const nccl_library* loaded = nullptr;
  static std::string load_error;
  std::call_once(once, [] {
    if (const char* forced = std::getenv("ALISA_NCCL_LIBRARY"); forced && *forced) {
      loaded = load_from(forced, load_error);
      if (!loaded) load_error += " (from $ALISA_NCCL_LIBRARY)";
      return;
    }
    std::string soname_error;
    loaded = load_from(kSoname, soname_error);
    if (loaded) return;
    std::string toolkit_error;
    loaded = load_from(kToolkitPath, toolkit_error);
    if (loaded) return;
    // The loader's own words for the soname say why (not on the path, wrong architecture, ...);
    // a library that loaded but lacks a symbol is too old, which is said as such.
    const std::string prefix = std::string(kSoname) + " not loadable: ";
    if (soname_error.rfind(prefix, 0) != 0) {
      load_error = soname_error + " (NCCL too old? alisa needs NCCL 2.7 or newer)";
      return;
    }
    load_error = std::string(kSoname) + " not found: " + soname_error.substr(prefix.size()) +
                 " (also tried " + kToolkitPath +
                 "; install NCCL or set LD_LIBRARY_PATH or ALISA_NCCL_LIBRARY)";
  });
  if (!loaded) error = load_error;
  return loaded;
}

std::string nccl_library::version_string() const {
  // NCCL_VERSION(X,Y,Z) is X*1000+Y*100+Z up to 2.8 and X*10000+Y*100+Z from 2.9 on.
  const int v = version_;
  if (v <= 0) return "unknown";
  const bool old_scheme = v < 10000;
  const int major = old_scheme ? v / 1000 : v / 10000;
  const int minor = old_scheme ? (v % 1000) / 100 : (v % 10000) / 100;
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(v % 100);
}

std::string nccl_library::describe(const char* call, const char* file, int line,
                                   ncclResult_t result) const {
  const char* text = get_error_string ? get_error_string(result) : nullptr;
  return std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": NCCL error " +
         std::to_string(static_cast<int>(result)) + " (" + (text ? text : "unknown") + ")";
}

}  // namespace alisa::gpu::nccl

#endif  // ALISA_HAVE_CUDA
