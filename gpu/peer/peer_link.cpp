#include "gpu/peer/peer_link.hpp"

#include <stdexcept>

#include "gpu/backend.hpp"
#include "gpu/peer/nccl_link.hpp"
#ifdef ALISA_HAVE_CUDA
#include "gpu/cuda/cuda_backend.hpp"
#endif

namespace alisa::gpu {

peer_link::~peer_link() = default;

void peer_link::exchange(const void* send_buffer, void* recv_buffer, size_t bytes, int peer) {
  if (peer == rank())
    throw std::invalid_argument(name() + " link rank " + std::to_string(rank()) +
                                ": exchange with itself; copy within the backend instead");
  // Blocking halves in opposite orders on the two ends, or both would wait in send.
  if (rank() < peer) {
    send(send_buffer, bytes, peer);
    recv(recv_buffer, bytes, peer);
  } else {
    recv(recv_buffer, bytes, peer);
    send(send_buffer, bytes, peer);
  }
}

bool holds_device_memory(const backend& b) {
#ifdef ALISA_HAVE_CUDA
  return dynamic_cast<const cuda::cuda_backend*>(&b) != nullptr;
#else
  (void)b;
  return false;
#endif
}

// Without CUDA the NCCL entry points exist and say why they cannot work, so callers need no
// #ifdefs (the real ones are in nccl_link.cpp, compiled only with CUDA).
#ifndef ALISA_HAVE_CUDA
namespace {
constexpr const char* kNoCuda = "built without CUDA (NCCL links need the CUDA backend)";
}  // namespace

nccl_status probe_nccl(bool, const std::string&) { return {false, 0, kNoCuda}; }

std::optional<std::vector<uint8_t>> nccl_unique_id(std::string& why_not) {
  why_not = kNoCuda;
  return std::nullopt;
}

std::unique_ptr<peer_link> make_nccl_link(std::span<const uint8_t>, int, int,
                                          const nccl_link_options&) {
  throw std::runtime_error(std::string("NCCL link: this binary was ") + kNoCuda);
}
#endif

}  // namespace alisa::gpu
