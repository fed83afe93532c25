#include "gpu/backend.hpp"

#include <stdexcept>

#include "gpu/cpu/cpu_backend.hpp"

namespace alisa::gpu {

std::unique_ptr<backend> make_backend(backend_kind kind, int num_threads) {
  switch (kind) {
    case backend_kind::cpu:
      return std::make_unique<cpu::cpu_backend>(num_threads);
    case backend_kind::cuda:
      break;
  }
  throw std::runtime_error("CUDA backend not built in this binary");
}

}  // namespace alisa::gpu
