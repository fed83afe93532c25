// The cluster-secret handshake and its gate, over loopback, without CAF: who gets through, and
// that strangers (garbage, idle, trickling, too many) are closed within the limits.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "cluster/link/cluster_secret.hpp"
#include "cluster/link/handshake_gate.hpp"
#include "cluster/link/secret_dial.hpp"

namespace alisa::cluster::link {
namespace {

using namespace std::chrono_literals;

cluster_secret secret_of(char c) { return cluster_secret(std::vector<uint8_t>(32, uint8_t(c))); }

int plain_connect(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

// Whether the peer closed `fd` within `within` (reads until EOF).
bool closed_by_peer(int fd, std::chrono::milliseconds within) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  char buffer[64];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) == 1) {
      const ssize_t got = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
      if (got <= 0) return true;
    }
  }
  return false;
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds within = 3s) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

struct handshake_gates : ::testing::Test {
  std::unique_ptr<handshake_gate> gate;
  std::atomic<int> admitted{0};
  void open(gate_limits limits = {}) {
    std::string error;
    gate = handshake_gate::bind("127.0.0.1", 0, secret_of('k'), limits, error);
    ASSERT_TRUE(gate) << error;
    gate->start([this](int fd) {
      ++admitted;
      ::close(fd);
    });
  }
};

TEST(cluster_secret, proofs_bind_the_role_and_both_nonces) {
  const auto s = secret_of('a');
  const nonce a = fresh_nonce(), b = fresh_nonce();
  EXPECT_NE(a, b);
  const proof p = s.prove(link_role::dialer, a, b);
  EXPECT_TRUE(s.verify(link_role::dialer, a, b, p));
  EXPECT_FALSE(s.verify(link_role::listener, a, b, p));  // reflected back: refused
  EXPECT_FALSE(s.verify(link_role::dialer, b, a, p));
  EXPECT_FALSE(secret_of('b').verify(link_role::dialer, a, b, p));
  auto hello = make_hello(a);
  EXPECT_EQ(parse_hello(hello), a);
  hello[0] ^= 1;
  EXPECT_FALSE(parse_hello(hello));
}

TEST(cluster_secret, a_secret_file_must_be_private_and_long_enough) {
  const std::string path = ::testing::TempDir() + "/alisa-secret-" + std::to_string(::getpid());
  auto write = [&](const std::string& text, mode_t mode) {
    FILE* f = std::fopen(path.c_str(), "w");
    std::fputs(text.c_str(), f);
    std::fclose(f);
    ::chmod(path.c_str(), mode);
  };
  std::string error;
  write("0123456789abcdef0123456789abcdef\n", 0600);
  EXPECT_TRUE(cluster_secret::load(path, error)) << error;
  write("0123456789abcdef0123456789abcdef\n", 0644);
  EXPECT_FALSE(cluster_secret::load(path, error));
  EXPECT_NE(error.find("chmod 600"), std::string::npos) << error;
  write("short\n", 0600);
  EXPECT_FALSE(cluster_secret::load(path, error));
  EXPECT_NE(error.find("16 to 4096"), std::string::npos) << error;
  EXPECT_FALSE(cluster_secret::load(path + ".missing", error));
  EXPECT_NE(error.find("--cluster-secret-file"), std::string::npos) << error;
  std::remove(path.c_str());
}

TEST_F(handshake_gates, the_same_secret_is_admitted_another_is_refused) {
  open();
  std::string error;
  const int fd = dial_with_secret("127.0.0.1", gate->port(), secret_of('k'), 3s, error);
  ASSERT_GE(fd, 0) << error;
  ::close(fd);
  EXPECT_TRUE(eventually([&] { return admitted == 1; }));
  EXPECT_LT(dial_with_secret("127.0.0.1", gate->port(), secret_of('x'), 3s, error), 0);
  EXPECT_NE(error.find("secrets differ"), std::string::npos) << error;
  EXPECT_TRUE(eventually([&] { return gate->counters().refused == 1; }));
  EXPECT_EQ(admitted, 1);
}

TEST_F(handshake_gates, a_basp_header_announcing_4_gib_is_closed_at_once) {
  open();
  // CAF 0.17's client_handshake header with payload_len = 0xffffffff (what took a node to 2.6 GB).
  uint8_t header[32] = {0};
  header[0] = 1;
  header[4] = header[5] = header[6] = header[7] = 0xff;
  const int fd = plain_connect(gate->port());
  ASSERT_EQ(::send(fd, header, sizeof header, 0), 32);
  ASSERT_EQ(::send(fd, header, 8, 0), 8);  // 40 bytes: a whole "hello" with the wrong magic
  EXPECT_TRUE(closed_by_peer(fd, 2s));
  ::close(fd);
  // The gate counts after it closed: wait for the count, not just the close.
  EXPECT_TRUE(eventually([&] { return gate->counters().refused == 1u; }));
  EXPECT_EQ(admitted, 0);
}

TEST_F(handshake_gates, idle_and_trickling_connections_are_closed_at_the_deadline) {
  gate_limits limits;
  limits.handshake_timeout = 300ms;
  open(limits);
  const int idle = plain_connect(gate->port());
  const int slow = plain_connect(gate->port());
  const auto start = std::chrono::steady_clock::now();
  const hello_message hello = make_hello(fresh_nonce());
  bool slow_closed = false;
  for (size_t i = 0; i < hello.size() - 1 && !slow_closed; ++i) {  // one byte every 20 ms
    ::send(slow, hello.data() + i, 1, MSG_NOSIGNAL);
    slow_closed = closed_by_peer(slow, 20ms);
  }
  EXPECT_TRUE(slow_closed || closed_by_peer(slow, 1s));
  EXPECT_TRUE(closed_by_peer(idle, 1s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_TRUE(eventually([&] { return gate->counters().timed_out == 2u; }))
      << gate->counters().timed_out << " timed out";
  ::close(idle);
  ::close(slow);
  // The gate still admits afterwards.
  std::string error;
  const int fd = dial_with_secret("127.0.0.1", gate->port(), secret_of('k'), 3s, error);
  EXPECT_GE(fd, 0) << error;
  ::close(fd);
}

TEST_F(handshake_gates, over_max_pending_the_oldest_unfinished_handshake_goes_first) {
  gate_limits limits;
  limits.max_pending = 4;
  open(limits);
  std::vector<int> idle;
  for (int i = 0; i < 6; ++i) idle.push_back(plain_connect(gate->port()));
  EXPECT_TRUE(closed_by_peer(idle[0], 2s));
  EXPECT_TRUE(closed_by_peer(idle[1], 2s));
  EXPECT_FALSE(closed_by_peer(idle[5], 100ms));
  std::string error;
  const int fd = dial_with_secret("127.0.0.1", gate->port(), secret_of('k'), 3s, error);
  EXPECT_GE(fd, 0) << error;
  ::close(fd);
  for (int s : idle) ::close(s);
}

TEST_F(handshake_gates, stopping_closes_the_port) {
  open();
  const uint16_t port = gate->port();
  gate.reset();
  std::string error;
  EXPECT_LT(dial_with_secret("127.0.0.1", port, secret_of('k'), 1s, error), 0);
}

}  // namespace
}  // namespace alisa::cluster::link
