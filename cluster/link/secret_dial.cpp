#include "cluster/link/secret_dial.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace alisa::cluster::link {
namespace {

using clock = std::chrono::steady_clock;

int millis_left(clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Waits for `events` on fd until the deadline; false on timeout or error.
bool wait_for(int fd, short events, clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int rc = ::poll(&p, 1, millis_left(deadline));
    if (rc > 0) return true;
    if (rc == 0 || errno != EINTR) return false;
  }
}

int connect_before(const std::string& host, uint16_t port, clock::time_point deadline,
                   std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found)) {
    error = std::string("cannot resolve host: ") + ::gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  error = "connection refused";
  for (addrinfo* a = found; a && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    int so_error = rc == 0 ? 0 : errno;
    if (so_error == EINPROGRESS) {
      if (!wait_for(fd, POLLOUT, deadline)) {
        so_error = ETIMEDOUT;
      } else {
        socklen_t length = sizeof so_error;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &length);
      }
    }
    if (so_error != 0) {
      error = std::strerror(so_error);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  return fd;
}

bool send_exactly(int fd, const uint8_t* data, size_t size, clock::time_point deadline) {
  while (size > 0) {
    const ssize_t sent = ::send(fd, data, size, MSG_NOSIGNAL);
    if (sent > 0) {
      data += sent;
      size -= static_cast<size_t>(sent);
    } else if (sent < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(fd, POLLOUT, deadline)) return false;
    } else {
      return false;
    }
  }
  return true;
}

// false on EOF, error or timeout; `closed` tells EOF apart.
bool recv_exactly(int fd, uint8_t* data, size_t size, clock::time_point deadline, bool& closed) {
  while (size > 0) {
    const ssize_t got = ::recv(fd, data, size, 0);
    if (got > 0) {
      data += got;
      size -= static_cast<size_t>(got);
    } else if (got == 0) {
      closed = true;
      return false;
    } else if (errno == EAGAIN || errno == EINTR) {
      if (!wait_for(fd, POLLIN, deadline)) return false;
    } else {
      return false;
    }
  }
  return true;
}

// The exchange on a connected socket; an error message, or "" when both sides proved the secret.
std::string run_dialer_handshake(int fd, const cluster_secret& secret, clock::time_point deadline) {
  const nonce own = fresh_nonce();
  const hello_message hello = make_hello(own);
  if (!send_exactly(fd, hello.data(), hello.size(), deadline)) return "sending the hello failed";
  hello_message reply{};
  bool closed = false;
  if (!recv_exactly(fd, reply.data(), reply.size(), deadline, closed))
    return closed ? "the peer closed the connection (not a node with a cluster secret?)"
                  : "no handshake answer in time (not a node with a cluster secret?)";
  auto peer = parse_hello(std::span<const uint8_t, kHelloBytes>(reply));
  if (!peer) return "the peer is not an alisa node with a cluster secret";
  const proof mine = secret.prove(link_role::dialer, own, *peer);
  if (!send_exactly(fd, mine.data(), mine.size(), deadline)) return "sending the proof failed";
  proof theirs{};
  if (!recv_exactly(fd, theirs.data(), theirs.size(), deadline, closed))
    return "the peer refused this node's proof: the cluster secrets differ";
  if (!secret.verify(link_role::listener, *peer, own, theirs))
    return "the peer could not prove the cluster secret";
  return "";
}

}  // namespace

int dial_with_secret(const std::string& host, uint16_t port, const cluster_secret& secret,
                     std::chrono::milliseconds timeout, std::string& error) {
  const auto deadline = clock::now() + timeout;
  const int fd = connect_before(host, port, deadline, error);
  if (fd < 0) return -1;
  error = run_dialer_handshake(fd, secret, deadline);
  if (!error.empty()) {
    ::close(fd);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace alisa::cluster::link
