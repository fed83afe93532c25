#pragma once
// peer_link — moves bytes of backend memory from one GPU worker to another (KV blocks, hidden-state
// rows). Two transports implement it: NCCL between CUDA devices (gpu/peer/nccl_link.hpp) and CAF
// messages through host memory (actors/caf_peer_link.hpp), the fallback wherever NCCL cannot run.
// How two workers agree on one is actors/peer_link_setup.hpp's job; this is only the data path.
//
// Contract (NCCL's point-to-point rules, so both transports behave alike):
// - A link has `size()` ranks; this end is `rank()`. send(.., peer) on one rank is matched by
//   recv(.., rank) on `peer` with the same byte count; matching calls are made in the same order
//   on both ends. Both calls block until the bytes have left `buffer` (send) or are in `buffer`
//   (recv), so the caller may reuse the buffer as soon as the call returns.
// - Buffers are in the backend's memory (device memory for CUDA, host memory for the CPU backend).
//   The caller makes sure the backend's queued writes to a send buffer are complete first
//   (backend::synchronize()): a link does not know which stream wrote it.
// - Failures (the peer gone, a timeout, a transport error) throw std::runtime_error naming the link
//   and the peer; a link that threw should be dropped, not reused.
// - One thread uses a link at a time (the thread that drives the backend).
#include <cstddef>
#include <string>

namespace alisa::gpu {

class backend;

class peer_link {
 public:
  virtual ~peer_link();
  virtual std::string name() const = 0;  // the transport: "nccl" or "caf"
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual void send(const void* buffer, size_t bytes, int peer) = 0;
  virtual void recv(void* buffer, size_t bytes, int peer) = 0;
  // Sends `send_buffer` to `peer` and receives as many bytes from it into `recv_buffer`, the peer
  // doing the same (a swap, e.g. KV blocks moving both ways). The default orders the two halves by
  // rank (the lower rank sends first) so blocking transports cannot deadlock; transports that can
  // overlap both directions override it. peer == rank() is an error unless a transport allows it.
  virtual void exchange(const void* send_buffer, void* recv_buffer, size_t bytes, int peer);
};

// Whether `b` keeps its memory on a CUDA device (NCCL moves device memory only; a CPU backend's
// workers use the CAF transport).
bool holds_device_memory(const backend& b);

}  // namespace alisa::gpu
