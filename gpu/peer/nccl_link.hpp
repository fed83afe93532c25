#pragma once
// nccl_link — a peer_link over an NCCL communicator, and what it takes to make one. This header is
// CUDA-free and always usable: in a binary built without CUDA every function here reports "built
// without CUDA" (no #ifdefs for callers). NCCL itself is loaded at run time (nccl_library.hpp), so
// the binary starts on machines without NCCL, a driver or a GPU.
//
// Forming a link of `size` ranks: one rank calls nccl_unique_id() and hands the 128 bytes to the
// others out of band (the cluster sends them in a CAF message, actors/peer_link_setup.hpp); then
// every rank calls make_nccl_link() with them at about the same time (it waits for all ranks, at
// most `init_timeout`). Each link uses the calling thread's current CUDA device (the backend's)
// and its own CUDA stream; send/recv/exchange wait for their stream and throw if the
// communicator reports an error or a transfer does not finish within `transfer_timeout` (then the
// communicator is aborted, so a dead peer costs one timeout, not a hang).
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "gpu/peer/peer_link.hpp"

namespace alisa::gpu {

inline constexpr size_t nccl_unique_id_bytes = 128;  // NCCL_UNIQUE_ID_BYTES

struct nccl_link_options {
  std::chrono::milliseconds init_timeout{60'000};
  std::chrono::milliseconds transfer_timeout{120'000};
};

// Whether NCCL can be used here: libnccl.so.2 loads, resolves, and (with `need_device`) a CUDA
// device is visible. `detail` is the loaded library and version ("NCCL 2.28.9
// (/usr/lib/libnccl.so.2)") or why not ("libnccl.so.2 not found: ...", "built without CUDA",
// "no CUDA device: ..."). `path`: load this file instead of the usual search (tests).
struct nccl_status {
  bool usable = false;
  int version = 0;     // NCCL_VERSION_CODE of the loaded library, 0 when none loaded
  std::string detail;
};
nccl_status probe_nccl(bool need_device = true, const std::string& path = {});

// A fresh communicator id (rank 0 makes it), or nullopt with `why_not` set: NCCL unusable here
// (probe_nccl's reasons) or ncclGetUniqueId failed (no usable network interface).
std::optional<std::vector<uint8_t>> nccl_unique_id(std::string& why_not);

// Joins the communicator `unique_id` names as `rank` of `size`. Throws std::runtime_error when
// NCCL is unusable, the id is not nccl_unique_id_bytes long, or the communicator does not form.
std::unique_ptr<peer_link> make_nccl_link(std::span<const uint8_t> unique_id, int rank, int size,
                                          const nccl_link_options& options = {});

}  // namespace alisa::gpu
