#pragma once
// caf_peer_link — the fallback gpu::peer_link: bytes of backend memory travel as CAF messages.
// send() downloads a piece of the buffer to the host (backend::download), sends it as a
// peer_chunk to the peer's mailbox, and the peer uploads it into its buffer (backend::upload)
// before it acknowledges; a window of `window` pieces is in flight at once so the network,
// the download and the upload overlap. Works wherever CAF does: CPU backends, GPUs without NCCL,
// NCCL that cannot form a communicator between two nodes.
//
// Each end owns a mailbox (a hidden caf::scoped_actor of its actor system). Forming a link: make
// every end, hand each end's mailbox() to the others (the setup protocol sends them in its offer
// and answer messages), then connect() every peer. The peer_link contract applies
// (gpu/peer/peer_link.hpp); in addition, with more than two ranks a recv() takes chunks from its
// own peer only, so a rank must not be sent to by two peers at once.
//
// Failure: a chunk that does not arrive within `timeout`, a peer mailbox that goes away
// (its node disconnects or its link is dropped) or a malformed chunk throws std::runtime_error.
// Destroy the link before its actor system (it holds a scoped actor).
#include <caf/fwd.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "gpu/peer/peer_link.hpp"

namespace alisa::gpu {
class backend;
}

namespace alisa::actors {

struct caf_peer_link_options {
  size_t chunk_bytes = size_t{4} << 20;  // bytes per peer_chunk message
  int window = 4;                        // chunks sent and not yet acknowledged
  std::chrono::milliseconds timeout{120'000};  // per chunk or acknowledgement
};

class caf_peer_link final : public gpu::peer_link {
 public:
  // One end of link `link_id`, this being `rank` of `size`; moves bytes through `backend`.
  // Throws std::invalid_argument on a bad rank, size or option.
  caf_peer_link(caf::actor_system& system, gpu::backend& backend, uint64_t link_id, int rank,
                int size, caf_peer_link_options options = {});
  ~caf_peer_link() override;

  // This end's mailbox: what the other ranks connect() to.
  caf::actor mailbox() const;
  // Where rank `peer`'s chunks and acknowledgements come from and go to. Throws on a bad peer.
  void connect(int peer, const caf::actor& peer_mailbox);

  std::string name() const override { return "caf"; }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void send(const void* buffer, size_t bytes, int peer) override;
  void recv(void* buffer, size_t bytes, int peer) override;

 private:
  struct channel;  // the scoped actor and the peers' mailboxes (CAF headers stay in the .cpp)

  [[noreturn]] void fail(const std::string& why) const;
  void check_peer(int peer, const char* what) const;

  gpu::backend& backend_;
  uint64_t link_id_ = 0;
  int rank_ = 0;
  int size_ = 0;
  caf_peer_link_options options_;
  std::unique_ptr<channel> channel_;
};

}  // namespace alisa::actors
