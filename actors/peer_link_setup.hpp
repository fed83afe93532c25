#pragma once
// peer_link_setup — how two GPU workers agree on a gpu::peer_link and use it, as message
// handlers any worker actor adds to its behavior (gpu_worker does; tests use a bare endpoint).
//
//   coordinator ──(peer_link_atom, id, B, transport)──> A          A becomes rank 0
//   A: NCCL possible here? (a CUDA backend, libnccl.so.2 loads, a device) -> ncclUniqueId
//   A ──request: peer_link_offer{id, "nccl"|"caf", unique id, reason} + A's CAF mailbox──> B
//   B: takes "nccl" only if it can use NCCL too, else "caf" (the reason says which rank could not)
//   B ──peer_link_answer + B's CAF mailbox──> A      (B then joins the NCCL communicator)
//   A joins the communicator (nccl) or connects its CAF link to B's mailbox (caf)
//   A ──peer_link_answer──> coordinator; both ends log "peer link <id> ... uses <transport>: why"
//
// Before that, the coordinator has B reach A: (peer_reach_atom, A) -> bool. Two workers never
// talked before, so B pings A through the handle the coordinator relayed, then waits (up to 3 s)
// until CAF's automatic connections have connected their nodes directly, so bulk bytes do not
// detour through the coordinator's node. Why a separate step with retries: when both nodes open
// their automatic connection at the same moment, CAF 0.17 can close one and declare the other
// node unreachable, killing every proxy of it; this happens here, on a ping, instead of in the
// middle of a transfer, and the coordinator then retries with fresh handles.
//
// Every exchange that has a reply is a request (in CAF 0.17 a handler's reply to a plain send from
// another node kills the replier with unexpected_message). An NCCL communicator forms only when
// both ranks join, so B answers first and joins right after (a message to itself), while A joins
// when the answer arrives. A failure to form fails the setup with NCCL's reason; it does not
// fall back silently (the transport was agreed, and the reason is the useful part).
//
//   (peer_transfer{id, send, bytes, rounds, seed}) -> peer_transfer_report: the bench's data path,
//     `rounds` + 1 transfers of `bytes` of backend memory (the first warms the link up and is not
//     reported), each round a fresh pattern with its checksum on both ends;
//   (peer_close_atom, id): drops the link (no reply);
//   (peer_ping_atom) -> peer_ping_atom: the ping of the reach step.
//
// Thread affinity: the handlers block the actor's thread (communicator setup, transfers), so the
// actor must be detached, and it must be the thread that drives `backend`.
#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/message_handler.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gpu/peer/peer_link.hpp"
#include "proto/messages.hpp"

namespace alisa::gpu {
class backend;
}

namespace alisa::actors {

struct peer_link_entry {
  std::unique_ptr<gpu::peer_link> link;
  std::string reason;  // why this transport
};

// One worker's links; lives in its actor's state.
struct peer_links {
  gpu::backend* backend = nullptr;
  std::string who = "worker";  // in log lines
  std::map<uint64_t, peer_link_entry> links;
  std::map<uint64_t, peer_link_offer> joining;  // NCCL offers accepted, communicator not formed yet
  std::map<uint64_t, std::string> failed;       // links whose setup failed on this side: why
};

// The handlers above. `links` must outlive the actor's behavior (keep it in the actor's state);
// links->backend must be set.
caf::message_handler peer_link_handlers(caf::event_based_actor* self, peer_links* links);

// A caf::error carrying `why` (sec::runtime_error with the text as its context), and the text
// back out of such an error (any other error: CAF's rendering).
caf::error peer_link_error(std::string why);
std::string peer_link_error_text(caf::actor_system& system, const caf::error& err);

// The bytes of round `round` of a transfer seeded with `seed`, and their checksum: what the
// sender sends and what the receiver must read back.
void fill_peer_pattern(std::vector<std::byte>& bytes, uint64_t seed, uint32_t round);
uint64_t peer_checksum(const std::vector<std::byte>& bytes);

}  // namespace alisa::actors
