#pragma once
// node_system — the actor system of one cluster node (or of a client talking to one): alisa's
// message types registered, CAF's network layer (middleman) loaded, and how connections are
// secured (docs/cluster.md, "Security"):
//
//   --cluster-secret-file   every connection proves the shared secret before CAF sees a byte
//                           (cluster/link/: a handshake gate in front of each published port)
//   --tls-cert/-key/-ca     every connection is mutual TLS with the cluster CA (CAF's openssl module)
//   neither                 plain TCP: allowed on loopback; another address needs --insecure
//
//   coordinator node: publish(coordinator, --listen)   <──connect──  worker / memory / client
// Nodes listen only where they are told (CAF's automatic-connection acceptors are off); a worker
// reaches a memory node by dialing the address the node announced (gpu_worker's memory dialer).
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

namespace link {
class secret_links;
}

struct link_security {
  std::string certificate;  // PEM: this node's certificate (signed by the cluster CA)
  std::string key;          // PEM: its private key
  std::string ca_file;      // PEM: the cluster CA that peers' certificates must chain to
  std::string secret_file;  // the cluster secret (--cluster-secret-file)
  bool insecure = false;    // listen on a non-loopback address with neither
  bool tls_enabled() const { return !certificate.empty() || !key.empty() || !ca_file.empty(); }
  bool secret_enabled() const { return !secret_file.empty(); }
  // TLS: all three files or none, each readable, the key matching the certificate; or a usable
  // secret file; not both. A message naming the flag and the file, or nullopt.
  std::optional<std::string> validate() const;
};

void add_security_flags(CLI::App& app, link_security& security);

struct endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string to_string() const { return host + ":" + std::to_string(port); }
};

// "HOST:PORT" or ":PORT" (host 127.0.0.1); an error message naming `flag` when malformed.
std::optional<endpoint> parse_endpoint(const std::string& text, const char* flag, std::string& error);
// Whether `host` names the loopback interface only (127.0.0.0/8, ::1, localhost).
bool is_loopback_host(const std::string& host);

// Owns a node's actor system (and its config, which must outlive it).
class node_system {
 public:
  // Precondition: security.validate() passed.
  explicit node_system(const link_security& security);
  ~node_system();
  caf::actor_system& system() { return *system_; }

  // Publishes `whom` on `at` (port 0 = any free port); the bound port, or an error message.
  // Refuses a non-loopback address without TLS or a secret unless --insecure.
  std::optional<uint16_t> publish(const caf::actor& whom, const endpoint& at, std::string& error);
  // Closes every port `whom` was published on (before it exits: see shared/notes/toolchain.md).
  void unpublish(const caf::actor& whom);
  // Connects to the actor published at `at`, retrying until `patience` has passed (nodes of a
  // cluster start in any order); an error message naming the endpoint when it never answers.
  std::optional<caf::actor> connect(const endpoint& at, std::chrono::milliseconds patience,
                                    std::string& error);
  // One attempt at connect(); an error message when it fails.
  std::optional<caf::actor> connect_once(const endpoint& at, std::string& error);

 private:
  link_security security_;
  caf::actor_system_config config_;
  std::unique_ptr<caf::actor_system> system_;
  std::unique_ptr<link::secret_links> links_;  // declared after system_: destroyed before it
};

}  // namespace alisa::cluster
