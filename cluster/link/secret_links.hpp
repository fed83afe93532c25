#pragma once
// secret_links — CAF's network layer with every connection gated by the cluster secret.
//
// A middleman actor of our own (a subclass of CAF's, as CAF's openssl module does it) replaces
// the two places where CAF touches a socket first: `open` listens through a handshake_gate, and
// `connect` dials with dial_with_secret. What passes either is handed to CAF as an ordinary
// socket, so BASP (routing, heartbeats, monitoring) runs as usual — only after the peer has
// proven the secret.
//
// Thread affinity: publish/remote_actor/unpublish block the calling thread (not an actor's).
// The links object must outlive every use and be destroyed before the actor system.
#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/io/middleman_actor.hpp>

#include <chrono>
#include <cstdint>
#include <string>

#include "cluster/link/cluster_secret.hpp"
#include "cluster/link/handshake_gate.hpp"

namespace alisa::cluster::link {

class secret_links {
 public:
  secret_links(caf::actor_system& sys, cluster_secret secret, gate_limits limits = {});
  ~secret_links();
  secret_links(const secret_links&) = delete;
  secret_links& operator=(const secret_links&) = delete;

  // Publishes `whom` on host:port (port 0 = any free port) behind a handshake gate.
  caf::expected<uint16_t> publish(const caf::actor& whom, uint16_t port, const std::string& host);
  // Closes every port `whom` was published on.
  void unpublish(const caf::actor& whom);
  // Dials host:port, proves the secret, and returns the actor published there.
  caf::expected<caf::actor> remote_actor(const std::string& host, uint16_t port);

 private:
  caf::actor_system& sys_;
  caf::io::middleman_actor actor_;
};

}  // namespace alisa::cluster::link
