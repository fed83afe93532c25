#include "actors/caf_peer_link.hpp"

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>
#include <caf/system_messages.hpp>

#include <algorithm>
#include <deque>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "gpu/backend.hpp"
#include "proto/caf_messages.hpp"
#include "proto/messages.hpp"

namespace alisa::actors {

// The scoped actor that sends and receives for this end, and what it knows of the peers.
struct caf_peer_link::channel {
  channel(caf::actor_system& sys, int size)
      : system(sys), self(sys, /*hide=*/true), peers(static_cast<size_t>(size)),
        sent(static_cast<size_t>(size), 0), received(static_cast<size_t>(size), 0) {}

  caf::actor_system& system;
  caf::scoped_actor self;
  std::vector<caf::actor> peers;   // by rank; null until connected (and for this rank)
  std::vector<uint64_t> sent;      // transfers sent to each rank so far
  std::vector<uint64_t> received;  // transfers received from each rank so far
  std::set<caf::actor_addr> gone;  // peers whose mailbox went away (down_msg seen)
  bool broken = false;             // an earlier call threw: the streams are out of step
};

caf_peer_link::caf_peer_link(caf::actor_system& system, gpu::backend& backend, uint64_t link_id,
                             int rank, int size, caf_peer_link_options options)
    : backend_(backend), link_id_(link_id), rank_(rank), size_(size), options_(options) {
  if (size < 1 || rank < 0 || rank >= size)
    throw std::invalid_argument("CAF link: rank " + std::to_string(rank) + " of " +
                                std::to_string(size) + " is not a rank of the link");
  if (options.chunk_bytes == 0 || options.window < 1 || options.timeout.count() <= 0)
    throw std::invalid_argument("CAF link: chunk_bytes, window and timeout must be > 0");
  channel_ = std::make_unique<channel>(system, size);
}

caf_peer_link::~caf_peer_link() = default;

caf::actor caf_peer_link::mailbox() const { return caf::actor_cast<caf::actor>(channel_->self); }

void caf_peer_link::connect(int peer, const caf::actor& peer_mailbox) {
  if (peer < 0 || peer >= size_ || peer == rank_ || !peer_mailbox)
    throw std::invalid_argument("CAF link rank " + std::to_string(rank_) +
                                ": cannot connect peer " + std::to_string(peer) +
                                (peer_mailbox ? "" : " (no mailbox)"));
  channel_->peers[static_cast<size_t>(peer)] = peer_mailbox;
  // A peer that goes away (its link dropped, its node disconnected) must fail a waiting recv at
  // once rather than after the timeout.
  channel_->self->monitor(peer_mailbox);
}

void caf_peer_link::fail(const std::string& why) const {
  channel_->broken = true;
  throw std::runtime_error("CAF link " + std::to_string(link_id_) + " rank " +
                           std::to_string(rank_) + " of " + std::to_string(size_) + ": " + why);
}

void caf_peer_link::check_peer(int peer, const char* what) const {
  if (peer < 0 || peer >= size_ || peer == rank_)
    throw std::invalid_argument("CAF link rank " + std::to_string(rank_) + ": cannot " + what +
                                " rank " + std::to_string(peer));
  const auto& mailbox = channel_->peers[static_cast<size_t>(peer)];
  if (!mailbox)
    throw std::logic_error("CAF link rank " + std::to_string(rank_) + ": rank " +
                           std::to_string(peer) + " is not connected");
  if (channel_->broken) fail("used after an earlier failure (make a new link)");
  if (channel_->gone.count(mailbox.address()))
    fail("rank " + std::to_string(peer) + " is gone (its link or node went away)");
}

void caf_peer_link::send(const void* buffer, size_t bytes, int peer) {
  check_peer(peer, "send to");
  auto& ch = *channel_;
  const auto& to = ch.peers[static_cast<size_t>(peer)];
  const uint64_t transfer = ch.sent[static_cast<size_t>(peer)]++;
  const auto* src = static_cast<const std::byte*>(buffer);
  using handle = decltype(ch.self->request(to, options_.timeout, peer_chunk{}));
  std::deque<handle> in_flight;
  // Each acknowledgement comes after the peer uploaded the chunk: when the last one is in, the
  // bytes are in the peer's buffer.
  auto await_oldest = [&] {
    std::string failure;
    in_flight.front().receive([](uint64_t) {},
                              [&](caf::error& err) { failure = ch.system.render(err); });
    in_flight.pop_front();
    if (!failure.empty()) fail("send to rank " + std::to_string(peer) + " failed: " + failure);
  };
  for (size_t offset = 0; offset < bytes; offset += options_.chunk_bytes) {
    const size_t n = std::min(options_.chunk_bytes, bytes - offset);
    if (in_flight.size() >= static_cast<size_t>(options_.window)) await_oldest();
    peer_chunk chunk{link_id_, transfer, offset, std::vector<std::byte>(n)};
    backend_.download(chunk.bytes.data(), src + offset, n);
    in_flight.push_back(ch.self->request(to, options_.timeout, std::move(chunk)));
  }
  while (!in_flight.empty()) await_oldest();
}

void caf_peer_link::recv(void* buffer, size_t bytes, int peer) {
  check_peer(peer, "receive from");
  auto& ch = *channel_;
  const caf::actor_addr from = ch.peers[static_cast<size_t>(peer)].address();
  const uint64_t transfer = ch.received[static_cast<size_t>(peer)]++;
  auto* dst = static_cast<std::byte*>(buffer);
  uint64_t received = 0;
  std::string failure;
  // Why `c` cannot be the next piece of this transfer, or "".
  auto misfit = [&](const peer_chunk& c) -> std::string {
    if (caf::actor_cast<caf::actor_addr>(ch.self->current_sender()) != from)
      return "a chunk from another rank arrived while receiving from rank " + std::to_string(peer);
    if (c.link_id != link_id_ || c.transfer != transfer)
      return "chunk of link " + std::to_string(c.link_id) + " transfer " +
             std::to_string(c.transfer) + " arrived, expected link " + std::to_string(link_id_) +
             " transfer " + std::to_string(transfer) + " (the two ends' calls do not match)";
    if (c.offset != received || c.bytes.empty() || c.bytes.size() > bytes - received)
      return "chunk [" + std::to_string(c.offset) + ", +" + std::to_string(c.bytes.size()) +
             ") does not continue at " + std::to_string(received) + " of " +
             std::to_string(bytes) + " bytes (the two ends' sizes differ?)";
    return {};
  };
  while (received < bytes && failure.empty()) {
    ch.self->receive(
        [&](peer_chunk& c) -> caf::result<uint64_t> {
          if (auto bad = misfit(c); !bad.empty()) {
            failure = bad;
            return caf::make_error(caf::sec::invalid_argument, std::move(bad));
          }
          backend_.upload(dst + c.offset, c.bytes.data(), c.bytes.size());
          received += c.bytes.size();
          return received;
        },
        [&](caf::down_msg& down) {
          ch.gone.insert(down.source);
          if (down.source == from)
            failure = "rank " + std::to_string(peer) + " went away after " +
                      std::to_string(received) + " of " + std::to_string(bytes) + " bytes (" +
                      ch.system.render(down.reason) + ")";
        },
        caf::after(options_.timeout) >> [&] {
          failure = "no data from rank " + std::to_string(peer) + " for " +
                    std::to_string(options_.timeout.count()) + " ms (" + std::to_string(received) +
                    " of " + std::to_string(bytes) + " bytes arrived)";
        });
  }
  if (!failure.empty()) fail("receive failed: " + failure);
  backend_.synchronize();  // the uploads are complete when recv returns
}

}  // namespace alisa::actors
