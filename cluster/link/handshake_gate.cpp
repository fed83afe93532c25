#include "cluster/link/handshake_gate.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <unordered_map>

namespace alisa::cluster::link {
namespace {

using clock = std::chrono::steady_clock;

// One unfinished handshake: first the dialer's hello, then its proof.
struct pending {
  clock::time_point deadline;
  uint64_t serial = 0;  // tells a reused fd number from the connection a deadline was set for
  bool hello_done = false;
  size_t have = 0;
  std::array<uint8_t, kHelloBytes> buffer{};
  nonce own{};
  nonce peer{};
  size_t wanted() const { return hello_done ? kProofBytes : kHelloBytes; }
};

bool send_all_now(int fd, const uint8_t* data, size_t size) {
  // A fresh socket's send buffer takes these few dozen bytes at once; anything less is a peer
  // not reading, which the gate does not wait for.
  const ssize_t sent = ::send(fd, data, size, MSG_NOSIGNAL);
  return sent == static_cast<ssize_t>(size);
}

int open_listener(const std::string& host, uint16_t port, uint16_t& bound, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found)) {
    error = "cannot listen on " + host + ":" + service + ": " + ::gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  std::string last = "no address";
  for (addrinfo* a = found; a && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
      last = std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) {
    error = "cannot listen on " + host + ":" + service + ": " + last;
    return -1;
  }
  sockaddr_storage addr{};
  socklen_t length = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  bound = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                           : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  return fd;
}

}  // namespace

std::unique_ptr<handshake_gate> handshake_gate::bind(const std::string& host, uint16_t port,
                                                     cluster_secret secret, gate_limits limits,
                                                     std::string& error) {
  uint16_t bound = 0;
  const int listen_fd = open_listener(host, port, bound, error);
  if (listen_fd < 0) return nullptr;
  const int wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd < 0) {
    error = std::string("eventfd: ") + std::strerror(errno);
    ::close(listen_fd);
    return nullptr;
  }
  return std::unique_ptr<handshake_gate>(
      new handshake_gate(listen_fd, wake_fd, host, bound, std::move(secret), limits));
}

handshake_gate::handshake_gate(int listen_fd, int wake_fd, std::string host, uint16_t port,
                               cluster_secret secret, gate_limits limits)
    : listen_fd_(listen_fd),
      wake_fd_(wake_fd),
      host_(std::move(host)),
      port_(port),
      secret_(std::move(secret)),
      limits_(limits) {}

handshake_gate::~handshake_gate() {
  stop();
  ::close(wake_fd_);
}

void handshake_gate::start(admit_fn admit) {
  thread_ = std::thread([this, admit = std::move(admit)] { run(admit); });
}

void handshake_gate::stop() {
  if (stopping_.exchange(true)) return;
  const uint64_t one = 1;
  [[maybe_unused]] auto ignored = ::write(wake_fd_, &one, sizeof one);
  if (thread_.joinable()) {
    // Never join from the gate's own thread (its admit callback may drop the last owner).
    if (thread_.get_id() == std::this_thread::get_id())
      thread_.detach();
    else
      thread_.join();
  }
  ::close(listen_fd_);
}

// The gate's loop: accept, advance handshakes, expire deadlines. Over ~80 lines because the
// per-event steps share the pending table and the deadline queue; each step is a lambda.
void handshake_gate::run(admit_fn admit) {
  const int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  std::unordered_map<int, pending> table;
  std::deque<std::pair<int, uint64_t>> by_age;  // (fd, serial), oldest first
  uint64_t next_serial = 0;
  auto watch = [&](int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
  };
  auto drop = [&](int fd, std::atomic<uint64_t>& counter) {
    ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    table.erase(fd);
    ++counter;
  };
  auto drop_oldest = [&]() {
    while (!by_age.empty()) {
      auto [fd, serial] = by_age.front();
      by_age.pop_front();
      auto it = table.find(fd);
      if (it != table.end() && it->second.serial == serial) return drop(fd, counters_.dropped), true;
    }
    return false;
  };
  auto accept_all = [&]() {
    for (;;) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        // Out of descriptors: make room by the oldest unfinished handshake, else retry later.
        if (errno == EMFILE || errno == ENFILE) {
          if (drop_oldest()) continue;
          std::this_thread::sleep_for(std::chrono::milliseconds(10));  // no spin on the backlog
        }
        return;
      }
      if (table.size() >= limits_.max_pending) drop_oldest();
      pending& p = table[fd];
      p = pending{};
      p.deadline = clock::now() + limits_.handshake_timeout;
      p.serial = ++next_serial;
      by_age.emplace_back(fd, p.serial);
      watch(fd);
    }
  };
  // Reads what the handshake still needs; true when the connection was admitted or closed.
  auto advance = [&](int fd, pending& p) {
    const ssize_t got = ::recv(fd, p.buffer.data() + p.have, p.wanted() - p.have, 0);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) return drop(fd, counters_.dropped);
    if (got < 0) return;
    p.have += static_cast<size_t>(got);
    if (p.have < p.wanted()) return;
    if (!p.hello_done) {
      auto peer = parse_hello(std::span<const uint8_t, kHelloBytes>(p.buffer));
      if (!peer) return drop(fd, counters_.refused);
      p.peer = *peer;
      p.own = fresh_nonce();
      const hello_message reply = make_hello(p.own);
      if (!send_all_now(fd, reply.data(), reply.size())) return drop(fd, counters_.dropped);
      p.hello_done = true;
      p.have = 0;
      return;
    }
    if (!secret_.verify(link_role::dialer, p.peer, p.own,
                        std::span<const uint8_t, kProofBytes>(p.buffer.data(), kProofBytes)))
      return drop(fd, counters_.refused);
    const proof mine = secret_.prove(link_role::listener, p.own, p.peer);
    if (!send_all_now(fd, mine.data(), mine.size())) return drop(fd, counters_.dropped);
    ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
    table.erase(fd);
    ++counters_.admitted;
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    admit(fd);
  };
  auto expire = [&]() {
    const auto now = clock::now();
    while (!by_age.empty()) {
      auto [fd, serial] = by_age.front();
      auto it = table.find(fd);
      if (it == table.end() || it->second.serial != serial) {
        by_age.pop_front();
        continue;
      }
      if (it->second.deadline > now) return it->second.deadline - now;
      by_age.pop_front();
      drop(fd, counters_.timed_out);
    }
    return clock::duration(std::chrono::seconds(1));
  };
  watch(listen_fd_);
  watch(wake_fd_);
  std::vector<epoll_event> events(256);
  while (!stopping_.load()) {
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(expire()).count() + 1;
    const int n = ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()),
                               static_cast<int>(std::min<long long>(wait, 1000)));
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_fd_) continue;
      if (fd == listen_fd_) {
        accept_all();
        continue;
      }
      auto it = table.find(fd);
      if (it != table.end()) advance(fd, it->second);
    }
  }
  for (auto& [fd, p] : table) ::close(fd);
  ::close(epoll_fd);
}

}  // namespace alisa::cluster::link
