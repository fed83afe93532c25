#pragma once
// peer_link_bench — the coordinator's side of a GPU-to-GPU link between two of its workers: it
// pairs them from its membership and spawns a driver that has them set up a link
// (actors/peer_link_setup.hpp), move `bytes` of backend memory from the first to the second
// `rounds` times, compares both ends' checksums, closes the link and answers.
//
//   client ──peer_link_bench──> coordinator ──spawns──> driver
//   driver ──(peer_reach_atom, sender)──> receiver ──bool──> driver   (direct connection first)
//   driver ──(peer_link_atom, id, receiver, transport)──> sender ──peer_link_answer──> driver
//   driver ──peer_transfer (recv)──> receiver,  ──peer_transfer (send)──> sender
//   both ──peer_transfer_report──> driver ──peer_link_bench_result | error──> client
//   driver ──(peer_close_atom, id)──> both
//
// Errors reach the client as peer_link_error()s whose text says what failed and on which worker.
#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/result.hpp>
#include <caf/stateful_actor.hpp>

#include <string>
#include <vector>

#include "actors/coordinator.hpp"
#include "proto/messages.hpp"

namespace alisa::actors {

struct peer_pair {
  caf::actor sender;
  caf::actor receiver;
  std::string sender_name;    // the endpoint it joined with, or "worker N" (in-process)
  std::string receiver_name;
};

// The workers `names` picks by the endpoints they joined with (two names: sender, receiver), or
// the first two alive when `names` is empty; an error saying who is missing otherwise.
caf::expected<peer_pair> pick_peer_pair(const std::vector<coordinator_worker>& workers,
                                        const std::vector<std::string>& names);

// Answers one peer_link_bench for `pair` over link `link_id`, then quits.
caf::behavior peer_link_driver(caf::event_based_actor* self, peer_pair pair, uint64_t link_id);

// The coordinator's handler: checks the request, picks the pair, delegates to a driver.
caf::result<peer_link_bench_result> start_peer_link_bench(
    caf::stateful_actor<coordinator_state>* self, const peer_link_bench& request);

}  // namespace alisa::actors
