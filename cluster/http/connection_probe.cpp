#include "cluster/http/connection_probe.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <filesystem>

namespace alisa::cluster {
namespace {

// The text address and port of a socket address (IPv4, IPv6, or IPv4-mapped IPv6 shown as IPv4).
bool describe(const sockaddr_storage& a, std::string& host, int& port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(a);
    ::inet_ntop(AF_INET, &in.sin_addr, buf, sizeof buf);
    port = ntohs(in.sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(a);
    ::inet_ntop(AF_INET6, &in6.sin6_addr, buf, sizeof buf);
    port = ntohs(in6.sin6_port);
  } else {
    return false;
  }
  host = buf;
  if (host.rfind("::ffff:", 0) == 0) host = host.substr(7);
  return true;
}

bool matches(int fd, const std::string& remote_addr, int remote_port, int local_port) {
  sockaddr_storage peer{}, self{};
  socklen_t peer_len = sizeof peer, self_len = sizeof self;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) return false;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&self), &self_len) != 0) return false;
  std::string peer_host, self_host;
  int peer_port = 0, self_port = 0;
  return describe(peer, peer_host, peer_port) && describe(self, self_host, self_port) &&
         peer_port == remote_port && self_port == local_port && peer_host == remote_addr;
}

}  // namespace

connection_probe::connection_probe(const std::string& remote_addr, int remote_port, int local_port) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (...) {
      continue;
    }
    if (matches(fd, remote_addr, remote_port, local_port)) {
      fd_ = fd;
      return;
    }
  }
}

bool connection_probe::connected() const {
  if (fd_ < 0) return true;
  char byte;
  const ssize_t n = ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return true;  // the next (pipelined) request's bytes: still there
  if (n == 0) return false;  // orderly close
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

}  // namespace alisa::cluster
