#pragma once
// node_system — the actor system of one cluster node (or of a client talking to one): alisa's
// message types registered, CAF's network layer (middleman) loaded, and optionally TLS (CAF's
// openssl module) so that nodes only talk to nodes holding the cluster certificate.
//
//   coordinator node: publish(coordinator, --listen)   <──connect──  worker / memory / client
//   worker and memory nodes also publish their actor on their own --listen port, so that CAF can
//   open direct worker <-> memory connections (automatic connections) instead of relaying KV
//   through the coordinator.
//
// TLS: with a certificate, key and CA file every published port speaks TLS and every connection
// verifies the peer against the CA; a node without them (plain TCP) cannot complete a handshake
// and is refused. The files are PEM; docs: README, "Security".
#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

namespace alisa::cluster {

struct tls_options {
  std::string certificate;  // PEM: this node's certificate (signed by the cluster CA)
  std::string key;          // PEM: its private key
  std::string ca_file;      // PEM: the cluster CA that peers' certificates must chain to
  bool enabled() const { return !certificate.empty() || !key.empty() || !ca_file.empty(); }
  // All three or none, and readable; a message naming the flag, or nullopt.
  std::optional<std::string> validate() const;
};

void add_tls_flags(CLI::App& app, tls_options& tls);

struct endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string to_string() const { return host + ":" + std::to_string(port); }
};

// "HOST:PORT" or ":PORT" (host 127.0.0.1); an error message naming `flag` when malformed.
std::optional<endpoint> parse_endpoint(const std::string& text, const char* flag, std::string& error);

// Owns a node's actor system (and its config, which must outlive it).
class node_system {
 public:
  explicit node_system(const tls_options& tls);
  ~node_system();
  caf::actor_system& system() { return *system_; }

  // Publishes `whom` on `at` (port 0 = any free port); the bound port, or an error message.
  std::optional<uint16_t> publish(const caf::actor& whom, const endpoint& at, std::string& error);
  // Closes every port `whom` was published on (before it exits: see shared/notes/toolchain.md).
  void unpublish(const caf::actor& whom);
  // Connects to the actor published at `at`, retrying until `patience` has passed (nodes of a
  // cluster start in any order); an error message naming the endpoint when it never answers.
  std::optional<caf::actor> connect(const endpoint& at, std::chrono::milliseconds patience,
                                    std::string& error);

 private:
  tls_options tls_;
  caf::actor_system_config config_;
  std::unique_ptr<caf::actor_system> system_;
};

}  // namespace alisa::cluster
