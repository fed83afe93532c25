#pragma once
// connection_probe — whether the client of a request being served is still connected, for
// requests that write nothing until they end (a non-streaming completion): httplib hands a
// handler the peer's address but not its socket, so the probe finds the socket whose two ends
// are those addresses (once, in /proc/self/fd) and peeks it: an orderly close or a reset means
// the client has gone and its job can be cancelled.
#include <string>

namespace alisa::cluster {

class connection_probe {
 public:
  // The connection from remote_addr:remote_port to our local_port (IPv4 or IPv6 text forms).
  connection_probe(const std::string& remote_addr, int remote_port, int local_port);
  // False once the peer closed (or reset) the connection; true while it is open or unknown.
  bool connected() const;

 private:
  int fd_ = -1;  // -1 when no socket matched: connected() then says true
};

}  // namespace alisa::cluster
