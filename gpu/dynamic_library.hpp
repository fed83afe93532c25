#pragma once
// dynamic_library — the few dlopen/dlsym helpers behind the libraries alisa loads at run time
// rather than links (cuBLAS: 600 MB that every `alisa submit` would otherwise map at start-up;
// NCCL: optional). Header-only; POSIX <dlfcn.h>.
#include <dlfcn.h>

#include <string>

namespace alisa::gpu::dynlib {

// dlerror() for the last failed call ("" when it has nothing to say).
inline std::string last_error() {
  const char* e = ::dlerror();
  return e ? e : "";
}

// Resolves `symbol` into the function pointer `out`; false with `error` set when absent.
template <class Fn>
bool resolve(void* handle, const char* symbol, Fn& out, std::string& error) {
  ::dlerror();  // clear: dlsym's null return alone does not mean failure
  void* p = ::dlsym(handle, symbol);
  if (p == nullptr) {
    error = std::string("lacks ") + symbol + ": " + last_error();
    return false;
  }
  out = reinterpret_cast<Fn>(p);
  return true;
}

// The file the loader actually mapped for the library holding `symbol` (fallback if unknown).
inline std::string mapped_path(const void* symbol, const std::string& fallback) {
  Dl_info info{};
  if (::dladdr(symbol, &info) != 0 && info.dli_fname != nullptr) return info.dli_fname;
  return fallback;
}

}  // namespace alisa::gpu::dynlib
