#include "actors/peer_link_setup.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/node_id.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>

#include <chrono>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "actors/caf_peer_link.hpp"
#include "actors/runtime_atoms.hpp"
#include "gpu/backend.hpp"
#include "gpu/peer/nccl_link.hpp"
#include "proto/caf_messages.hpp"

namespace alisa::actors {
namespace {

using self_ptr = caf::event_based_actor*;

// Rank 1 answers at once (it joins the communicator after answering), so this covers one round
// trip between two nodes and the opening of their connection.
constexpr auto kSetupTimeout = std::chrono::seconds(30);

void log_link(const peer_links& links, uint64_t id, int rank, const std::string& transport,
              const std::string& reason) {
  std::cerr << "alisa: " << links.who << ": peer link " << id << " (rank " << rank
            << " of 2) uses " << transport << ": " << reason << std::endl;
}

bool in_use(const peer_links& links, uint64_t id) {
  return links.links.count(id) > 0 || links.joining.count(id) > 0;
}

// Whether this worker can be an NCCL rank: its memory is on a CUDA device and NCCL loads and sees
// a device. `detail` says which NCCL, or why not.
bool nccl_usable_here(const gpu::backend& backend, std::string& detail) {
  if (!gpu::holds_device_memory(backend)) {
    detail = "its backend keeps memory on the host (" + backend.name() + ")";
    return false;
  }
  const gpu::nccl_status status = gpu::probe_nccl(/*need_device=*/true);
  detail = status.detail;
  return status.usable;
}

// Rank 0's offer for `want` ("auto" | "nccl" | "caf"); an error when NCCL was demanded but this
// worker cannot use it.
caf::expected<peer_link_offer> make_offer(const peer_links& links, uint64_t id,
                                          const std::string& want) {
  peer_link_offer offer{id, "caf", {}, 2, 1, "the CAF transport was asked for"};
  if (want == "caf") return offer;
  std::string why;
  if (nccl_usable_here(*links.backend, why)) {
    std::string id_problem;
    if (auto unique_id = gpu::nccl_unique_id(id_problem)) {
      offer.transport = "nccl";
      offer.unique_id = std::move(*unique_id);
      offer.reason = "rank 0: " + why;
      return offer;
    }
    why = id_problem;
  }
  if (want == "nccl")
    return peer_link_error("NCCL was asked for, but rank 0 (" + links.who + ") cannot use it: " +
                           why);
  offer.reason = "rank 0 cannot use NCCL: " + why;
  return offer;
}

// Rank 0, once rank 1 answered: joins the NCCL communicator or connects the CAF link.
caf::expected<peer_link_answer> finish_rank0(peer_links& links, const peer_link_offer& offer,
                                             const std::string& want, peer_link_answer& answer,
                                             std::unique_ptr<caf_peer_link> fallback,
                                             const caf::actor& peer_mailbox) {
  const uint64_t id = offer.link_id;
  if (answer.link_id != id)
    return peer_link_error("rank 1 answered for link " + std::to_string(answer.link_id) +
                           ", not " + std::to_string(id));
  peer_link_entry entry{nullptr, answer.reason};
  if (answer.transport == "nccl" && offer.transport == "nccl") {
    try {
      entry.link = gpu::make_nccl_link(offer.unique_id, 0, 2);
    } catch (const std::exception& e) {
      links.failed[id] = e.what();
      return peer_link_error("rank 0 (" + links.who + ") could not join the NCCL communicator: " +
                             e.what());
    }
  } else if (answer.transport == "caf") {
    if (want == "nccl") return peer_link_error("NCCL was asked for, but " + answer.reason);
    try {
      fallback->connect(1, peer_mailbox);
    } catch (const std::exception& e) {
      return peer_link_error(e.what());
    }
    entry.link = std::move(fallback);
  } else {
    return peer_link_error("rank 1 answered transport '" + answer.transport + "' to an offer of '" +
                           offer.transport + "'");
  }
  log_link(links, id, 0, answer.transport, answer.reason);
  links.links[id] = std::move(entry);
  return answer;
}

caf::result<peer_link_answer> start_link(self_ptr self, peer_links* links, uint64_t id,
                                         const caf::actor& peer, const std::string& want) {
  if (want != "auto" && want != "nccl" && want != "caf")
    return peer_link_error("unknown transport '" + want + "' (auto, nccl or caf)");
  if (!peer) return peer_link_error("no peer worker to link with");
  if (in_use(*links, id)) return peer_link_error("link " + std::to_string(id) + " exists already");
  auto offer = make_offer(*links, id, want);
  if (!offer) return offer.error();
  // Always offered along with NCCL: rank 1 may not be able to use NCCL.
  std::unique_ptr<caf_peer_link> fallback;
  try {
    fallback = std::make_unique<caf_peer_link>(self->system(), *links->backend, id, 0, 2);
  } catch (const std::exception& e) {
    return peer_link_error(e.what());
  }
  const caf::actor mailbox = fallback->mailbox();
  auto held = std::make_shared<std::unique_ptr<caf_peer_link>>(std::move(fallback));
  auto rp = self->make_response_promise<peer_link_answer>();
  self->request(peer, kSetupTimeout, *offer, mailbox)
      .then(
          [links, offer = *offer, want, held, rp](peer_link_answer& answer,
                                                  caf::actor& peer_mailbox) mutable {
            auto done =
                finish_rank0(*links, offer, want, answer, std::move(*held), peer_mailbox);
            if (done)
              rp.deliver(std::move(*done));
            else
              rp.deliver(std::move(done.error()));
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

// Rank 1: takes NCCL when it can use it too, else builds the CAF link.
caf::result<peer_link_answer, caf::actor> accept_offer(self_ptr self, peer_links* links,
                                                       peer_link_offer& offer,
                                                       const caf::actor& rank0_mailbox) {
  const uint64_t id = offer.link_id;
  if (offer.size != 2 || offer.rank != 1)
    return peer_link_error("links have two ranks; offered rank " + std::to_string(offer.rank) +
                           " of " + std::to_string(offer.size));
  if (in_use(*links, id)) return peer_link_error("link " + std::to_string(id) + " exists already");
  peer_link_answer answer{id, "caf", offer.reason};
  if (offer.transport == "nccl") {
    std::string detail;
    if (nccl_usable_here(*links->backend, detail)) {
      answer.transport = "nccl";
      answer.reason = offer.reason + "; rank 1: " + detail;
      offer.reason = answer.reason;
      links->joining[id] = std::move(offer);
      // Joined after this reply has gone out: rank 0 joins when it reads it, and the
      // communicator forms only once both have.
      self->send(self, peer_init_atom::value, id);
      return {answer, caf::actor{}};
    }
    answer.reason = "rank 1 (" + links->who + ") cannot use NCCL: " + detail;
  } else if (offer.transport != "caf") {
    return peer_link_error("unknown transport '" + offer.transport + "' offered");
  }
  try {
    auto link = std::make_unique<caf_peer_link>(self->system(), *links->backend, id, 1, 2);
    link->connect(0, rank0_mailbox);
    const caf::actor mailbox = link->mailbox();
    links->links[id] = peer_link_entry{std::move(link), answer.reason};
    log_link(*links, id, 1, "caf", answer.reason);
    return {answer, mailbox};
  } catch (const std::exception& e) {
    return peer_link_error(e.what());
  }
}

void join_accepted(peer_links* links, uint64_t id) {
  auto it = links->joining.find(id);
  if (it == links->joining.end()) return;  // closed meanwhile
  const peer_link_offer offer = std::move(it->second);
  links->joining.erase(it);
  try {
    links->links[id] = {gpu::make_nccl_link(offer.unique_id, offer.rank, offer.size), offer.reason};
    log_link(*links, id, offer.rank, "nccl", offer.reason);
  } catch (const std::exception& e) {
    links->failed[id] = e.what();
    std::cerr << "alisa: " << links->who << ": peer link " << id
              << ": could not join the NCCL communicator: " << e.what() << std::endl;
  }
}

// Backend memory for one transfer, released however the transfer ends.
class backend_buffer {
 public:
  backend_buffer(gpu::backend& backend, size_t bytes)
      : backend_(backend), data_(backend.allocate(bytes)) {}
  ~backend_buffer() { backend_.release(data_); }
  backend_buffer(const backend_buffer&) = delete;
  backend_buffer& operator=(const backend_buffer&) = delete;
  void* data() const { return data_; }

 private:
  gpu::backend& backend_;
  void* data_;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One side of a peer_transfer. The sender's time covers its send() call only (the pattern is
// made and uploaded before the clock starts); the receiver's includes waiting for the sender.
peer_transfer_report transfer_rounds(gpu::backend& backend, gpu::peer_link& link,
                                     const peer_transfer& t) {
  const int peer = 1 - link.rank();
  const size_t bytes = static_cast<size_t>(t.bytes);
  peer_transfer_report report{t.link_id, link.name(), t.bytes, {}, {}};
  backend_buffer buffer(backend, bytes);
  std::vector<std::byte> host(bytes);
  for (uint32_t round = 0; round <= t.rounds; ++round) {  // round 0 warms the link up
    const auto t0 = std::chrono::steady_clock::now();
    double seconds = 0.0;
    if (t.send) {
      fill_peer_pattern(host, t.seed, round);
      backend.upload(buffer.data(), host.data(), bytes);
      backend.synchronize();
      const auto start = std::chrono::steady_clock::now();
      link.send(buffer.data(), bytes, peer);
      seconds = seconds_since(start);
    } else {
      link.recv(buffer.data(), bytes, peer);
      seconds = seconds_since(t0);
      backend.download(host.data(), buffer.data(), bytes);
    }
    if (round == 0) continue;
    report.seconds.push_back(seconds);
    report.checksums.push_back(peer_checksum(host));  // sender: what it sent; receiver: got
  }
  return report;
}

caf::result<peer_transfer_report> run_transfer(peer_links* links, const peer_transfer& t) {
  const std::string on_link = "link " + std::to_string(t.link_id) + " on " + links->who;
  if (auto f = links->failed.find(t.link_id); f != links->failed.end())
    return peer_link_error(on_link + " failed to form: " + f->second);
  auto it = links->links.find(t.link_id);
  if (it == links->links.end()) return peer_link_error("no " + on_link);
  if (t.bytes == 0 || t.rounds == 0) return peer_link_error("a transfer needs bytes and rounds");
  try {
    return transfer_rounds(*links->backend, *it->second.link, t);
  } catch (const std::exception& e) {
    links->links.erase(it);  // a link that threw is out of step with its peer
    return peer_link_error("transfer on " + on_link + " failed: " + e.what());
  }
}

// Whether this node talks to `node` over a direct connection (the middleman's view).
bool direct_route(caf::scoped_actor& probe, const caf::node_id& node) {
  bool direct = false;
  probe->request(probe->system().middleman().actor_handle(), std::chrono::seconds(1),
                 caf::get_atom::value, node)
      .receive([&](const caf::node_id&, const std::string& address,
                   uint16_t) { direct = !address.empty(); },
               [](caf::error&) {});
  return direct;
}

// The reach step (see the header): ping, wait for a direct connection, let a second connection
// that raced it settle, ping again through the same handle (it dies if the race hit).
caf::result<bool> reach(self_ptr self, peer_links* links, const caf::actor& other) {
  if (!other) return peer_link_error("no worker to reach");
  if (other.node() == self->node()) return true;  // same process: nothing to connect
  caf::scoped_actor probe{self->system(), /*hide=*/true};
  auto ping = [&]() -> std::string {
    std::string failure;
    probe->request(other, std::chrono::seconds(10), peer_ping_atom::value)
        .receive([](peer_ping_atom) {},
                 [&](caf::error& err) { failure = peer_link_error_text(self->system(), err); });
    return failure;
  };
  if (auto failure = ping(); !failure.empty())
    return peer_link_error(links->who + " cannot reach the other worker: " + failure);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  bool direct = direct_route(probe, other.node());
  while (!direct && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    direct = direct_route(probe, other.node());
  }
  if (!direct) {
    std::cerr << "alisa: " << links->who << ": no direct connection to the other worker's node "
              << "(automatic connections off or blocked); peer links relay through the "
                 "coordinator's node"
              << std::endl;
    return false;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  if (auto failure = ping(); !failure.empty())
    return peer_link_error(links->who + " lost the other worker while connecting: " + failure);
  return true;
}

void close_link(peer_links* links, uint64_t id) {
  links->links.erase(id);
  links->joining.erase(id);
  links->failed.erase(id);
}

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

caf::message_handler peer_link_handlers(caf::event_based_actor* self, peer_links* links) {
  return {
      [self, links](peer_link_atom, uint64_t id, const caf::actor& peer,
                    const std::string& transport) -> caf::result<peer_link_answer> {
        return start_link(self, links, id, peer, transport);
      },
      [self, links](peer_link_offer& offer,
                    const caf::actor& mailbox) -> caf::result<peer_link_answer, caf::actor> {
        return accept_offer(self, links, offer, mailbox);
      },
      [links](peer_init_atom, uint64_t id) { join_accepted(links, id); },
      [links](const peer_transfer& t) -> caf::result<peer_transfer_report> {
        return run_transfer(links, t);
      },
      [links](peer_close_atom, uint64_t id) { close_link(links, id); },
      [self, links](peer_reach_atom, const caf::actor& other) -> caf::result<bool> {
        return reach(self, links, other);
      },
      [](peer_ping_atom) { return peer_ping_atom::value; },
  };
}

caf::error peer_link_error(std::string why) {
  return caf::make_error(caf::sec::runtime_error, std::move(why));
}

std::string peer_link_error_text(caf::actor_system& system, const caf::error& err) {
  if (err.category() == caf::atom("system") &&
      err.code() == static_cast<uint8_t>(caf::sec::runtime_error) &&
      err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  return system.render(err);
}

void fill_peer_pattern(std::vector<std::byte>& bytes, uint64_t seed, uint32_t round) {
  uint64_t state = seed ^ (uint64_t{round} * 0xd1b54a32d192ed03ULL);
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    const uint64_t word = splitmix64(state);
    std::memcpy(bytes.data() + i, &word, 8);
  }
  if (i < bytes.size()) {
    const uint64_t word = splitmix64(state);
    std::memcpy(bytes.data() + i, &word, bytes.size() - i);
  }
}

uint64_t peer_checksum(const std::vector<std::byte>& bytes) {
  // Position-dependent (a multiply-rotate chain over 8-byte words), so swapped or shifted pieces
  // change it, not only changed bytes.
  uint64_t h = 0x243f6a8885a308d3ULL ^ bytes.size();
  size_t i = 0;
  auto mix = [&h](uint64_t word) {
    h ^= word * 0x9fb21c651e98df25ULL;
    h = ((h << 29) | (h >> 35)) * 0xc2b2ae3d27d4eb4fULL;
  };
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t word = 0;
    std::memcpy(&word, bytes.data() + i, 8);
    mix(word);
  }
  if (i < bytes.size()) {
    uint64_t word = 0;
    std::memcpy(&word, bytes.data() + i, bytes.size() - i);
    mix(word ^ 0x8000000000000000ULL);
  }
  return h ^ (h >> 32);
}

}  // namespace alisa::actors
