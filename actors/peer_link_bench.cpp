#include "actors/peer_link_bench.hpp"

#include <caf/actor_system.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include "actors/peer_link_setup.hpp"
#include "actors/runtime_atoms.hpp"
#include "proto/caf_messages.hpp"

namespace alisa::actors {
namespace {

// Rank 0 waits up to 30 s for rank 1's answer, then up to 60 s for an NCCL communicator.
constexpr auto kSetupTimeout = std::chrono::seconds(120);

// Generous: the workers time out stalled transfers themselves (120 s without progress); this
// only catches a worker that hangs without its node disconnecting. Assumes >= 10 MB/s.
std::chrono::milliseconds transfer_timeout(const peer_link_bench& request) {
  const double seconds = 180.0 + double(request.rounds + 1) * double(request.bytes) / 10e6;
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1e3));
}

std::string worker_name(const coordinator_worker& w, size_t index) {
  return w.endpoint.empty() ? "worker " + std::to_string(index + 1) : w.endpoint;
}

// Both reports in: the checksums must agree round by round.
caf::expected<peer_link_bench_result> compare(const peer_pair& pair, const peer_link_bench& request,
                                              const peer_link_answer& answer,
                                              const peer_transfer_report& sent,
                                              const peer_transfer_report& received) {
  if (sent.checksums.size() != request.rounds || received.checksums.size() != request.rounds)
    return peer_link_error("expected " + std::to_string(request.rounds) + " rounds, got " +
                           std::to_string(sent.checksums.size()) + " sent and " +
                           std::to_string(received.checksums.size()) + " received");
  for (size_t r = 0; r < request.rounds; ++r)
    if (sent.checksums[r] != received.checksums[r])
      return peer_link_error("round " + std::to_string(r + 1) + " over " + answer.transport +
                             ": " + pair.receiver_name + " received checksum " +
                             std::to_string(received.checksums[r]) + " but " + pair.sender_name +
                             " sent " + std::to_string(sent.checksums[r]) +
                             ": the bytes did not arrive intact");
  return peer_link_bench_result{answer.transport, answer.reason, pair.sender_name,
                                pair.receiver_name, request.bytes, sent.seconds, sent.checksums};
}

// What the two transfer requests have brought back so far.
struct transfer_state {
  std::optional<peer_transfer_report> sent;
  std::optional<peer_transfer_report> received;
  bool done = false;
};

template <class Finish>
void run_transfers(caf::event_based_actor* self, const peer_pair& pair,
                   const peer_link_bench& request, uint64_t link_id,
                   const peer_link_answer& answer, Finish finish) {
  auto state = std::make_shared<transfer_state>();
  auto settle = [=]() mutable {
    if (state->done || !state->sent || !state->received) return;
    state->done = true;
    finish(compare(pair, request, answer, *state->sent, *state->received));
  };
  auto failed = [=](const std::string& who) mutable {
    return [=](caf::error& err) mutable {
      if (state->done) return;
      state->done = true;
      finish(peer_link_error(who + ": " + peer_link_error_text(self->system(), err)));
    };
  };
  const uint64_t seed = link_id * 0x9e3779b97f4a7c15ULL ^ 0x5eed;
  const auto timeout = transfer_timeout(request);
  // The receiver first, so it is usually waiting when the sender starts.
  self->request(pair.receiver, timeout,
                peer_transfer{link_id, false, request.bytes, request.rounds, seed})
      .then(
          [=](peer_transfer_report& r) mutable {
            state->received = std::move(r);
            settle();
          },
          failed("receiver " + pair.receiver_name));
  self->request(pair.sender, timeout,
                peer_transfer{link_id, true, request.bytes, request.rounds, seed})
      .then(
          [=](peer_transfer_report& r) mutable {
            state->sent = std::move(r);
            settle();
          },
          failed("sender " + pair.sender_name));
}

// Has the receiver reach the sender (actors/peer_link_setup.hpp) before the link is set up, up to
// three tries: a try that hit CAF's connection race fails on its ping, and the next one sends the
// sender's handle again, which gives the receiver a fresh proxy.
void reach_then(caf::event_based_actor* self, const peer_pair& pair, int attempt,
                std::function<void()> next, std::function<void(caf::error&)> fail) {
  self->request(pair.receiver, std::chrono::seconds(30), peer_reach_atom::value, pair.sender)
      .then([next](bool) mutable { next(); },
            [=](caf::error& err) mutable {
              if (attempt < 3)
                reach_then(self, pair, attempt + 1, next, fail);
              else
                fail(err);
            });
}

}  // namespace

caf::expected<peer_pair> pick_peer_pair(const std::vector<coordinator_worker>& workers,
                                        const std::vector<std::string>& names) {
  std::vector<size_t> alive;
  for (size_t i = 0; i < workers.size(); ++i)
    if (workers[i].alive()) alive.push_back(i);
  std::vector<size_t> chosen;
  if (names.empty()) {
    if (alive.size() < 2)
      return peer_link_error("a peer link needs two workers; the coordinator has " +
                             std::to_string(alive.size()));
    chosen = {alive[0], alive[1]};
  } else {
    if (names.size() != 2 || names[0] == names[1])
      return peer_link_error("name two different workers (sender, receiver) or none");
    for (const auto& name : names) {
      auto it = std::find_if(alive.begin(), alive.end(),
                             [&](size_t i) { return worker_name(workers[i], i) == name; });
      if (it == alive.end()) {
        std::string known;
        for (size_t i : alive) known += (known.empty() ? "" : ", ") + worker_name(workers[i], i);
        return peer_link_error("no worker joined as " + name + " (workers: " +
                               (known.empty() ? "none" : known) + ")");
      }
      chosen.push_back(*it);
    }
  }
  return peer_pair{workers[chosen[0]].handle, workers[chosen[1]].handle,
                   worker_name(workers[chosen[0]], chosen[0]),
                   worker_name(workers[chosen[1]], chosen[1])};
}

caf::behavior peer_link_driver(caf::event_based_actor* self, peer_pair pair, uint64_t link_id) {
  return {
      [=](const peer_link_bench& request) -> caf::result<peer_link_bench_result> {
        auto rp = self->make_response_promise<peer_link_bench_result>();
        // Closes the link on both workers (whatever state it reached), answers, and quits.
        auto finish = [=](caf::expected<peer_link_bench_result> result) mutable {
          self->send(pair.sender, peer_close_atom::value, link_id);
          self->send(pair.receiver, peer_close_atom::value, link_id);
          if (result)
            rp.deliver(std::move(*result));
          else
            rp.deliver(std::move(result.error()));
          self->quit();
        };
        auto setup_failed = [=](caf::error& err) mutable {
          finish(peer_link_error("link setup between " + pair.sender_name + " and " +
                                 pair.receiver_name + " failed: " +
                                 peer_link_error_text(self->system(), err)));
        };
        auto set_up = [=]() mutable {
          self->request(pair.sender, kSetupTimeout, peer_link_atom::value, link_id,
                        pair.receiver, request.transport)
              .then(
                  [=](peer_link_answer& answer) mutable {
                    run_transfers(self, pair, request, link_id, answer, finish);
                  },
                  setup_failed);
        };
        reach_then(self, pair, 1, set_up, setup_failed);
        return rp;
      },
  };
}

caf::result<peer_link_bench_result> start_peer_link_bench(
    caf::stateful_actor<coordinator_state>* self, const peer_link_bench& request) {
  if (request.bytes == 0 || request.rounds == 0)
    return peer_link_error("a peer link bench needs bytes > 0 and rounds > 0");
  auto pair = pick_peer_pair(self->state.workers, request.workers);
  if (!pair) return pair.error();
  auto driver = self->spawn(peer_link_driver, std::move(*pair), self->state.next_link++);
  auto rp = self->make_response_promise<peer_link_bench_result>();
  self->request(driver, caf::infinite, request)
      .then([rp](peer_link_bench_result& r) mutable { rp.deliver(std::move(r)); },
            [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

}  // namespace alisa::actors
