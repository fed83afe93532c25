#pragma once
// handshake_gate — the listening socket of a node in a cluster with a secret: it accepts TCP
// connections on its own thread and lets through only those that complete the cluster_secret
// handshake; everything else is closed before CAF allocates anything for it.
//
//   accept ──▶ pending (≤ max_pending, oldest closed first) ──hello+proof in time──▶ on_admitted(fd)
//                 │ wrong magic / wrong proof / EOF / deadline passed
//                 ▼
//               closed
//
// Why: CAF 0.17's BASP reserves memory for whatever payload length the first header announces and
// never times out an unfinished handshake; a peer that has not proven the secret never reaches it.
// A pending connection costs a socket and ~100 bytes here; the deadline is absolute (a slowloris
// that trickles bytes is closed like an idle one).
//
// Thread affinity: start() launches one thread that owns every pending socket; on_admitted runs
// on it (hand the fd on quickly). The destructor (or stop()) joins it and closes what is pending.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "cluster/link/cluster_secret.hpp"

namespace alisa::cluster::link {

struct gate_limits {
  std::chrono::milliseconds handshake_timeout{5000};  // from accept to the proof checked
  size_t max_pending = 16384;                         // unfinished handshakes held at once
};

struct gate_counters {
  std::atomic<uint64_t> admitted{0};
  std::atomic<uint64_t> refused{0};    // wrong magic or wrong proof
  std::atomic<uint64_t> timed_out{0};  // deadline passed
  std::atomic<uint64_t> dropped{0};    // closed to make room (over max_pending) or EOF
};

class handshake_gate {
 public:
  using admit_fn = std::function<void(int fd)>;

  // Binds and listens on host:port (port 0 = any free port); nullopt and `error` when it cannot.
  static std::unique_ptr<handshake_gate> bind(const std::string& host, uint16_t port,
                                              cluster_secret secret, gate_limits limits,
                                              std::string& error);
  ~handshake_gate();
  handshake_gate(const handshake_gate&) = delete;
  handshake_gate& operator=(const handshake_gate&) = delete;

  // Starts admitting; `admit` takes ownership of each authenticated (non-blocking) socket.
  void start(admit_fn admit);
  // Stops the thread, closes the listening socket and every pending connection. Idempotent.
  void stop();

  uint16_t port() const { return port_; }
  const std::string& host() const { return host_; }
  int listening_fd() const { return listen_fd_; }
  const gate_counters& counters() const { return counters_; }

 private:
  handshake_gate(int listen_fd, int wake_fd, std::string host, uint16_t port, cluster_secret secret,
                 gate_limits limits);
  void run(admit_fn admit);

  int listen_fd_;
  int wake_fd_;  // eventfd: stop() wakes the thread
  std::string host_;
  uint16_t port_;
  cluster_secret secret_;
  gate_limits limits_;
  gate_counters counters_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace alisa::cluster::link
