// A cluster under attack from its own loopback: nodes listen only where told, a cluster secret
// keeps strangers (wrong secret, a BASP header announcing 4 GiB, 10,000 idle connections, a
// slowloris) away from CAF, and start-up refuses what it cannot run safely. Bounded: every
// connection is closed and every process stopped at the end.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/cluster_process.hpp"

namespace alisa::testing {
namespace {

using namespace std::chrono_literals;

std::string write_secret(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name + "-" + std::to_string(::getpid());
  std::ofstream(path) << text << "\n";
  ::chmod(path.c_str(), 0600);
  return path;
}

// Every node `cluster up` started: role, endpoint port and pid, from its "ROLE HOST:PORT pid PID".
struct node_entry {
  std::string role;
  int port;
  int pid;
};
std::vector<node_entry> nodes_of(const std::string& cluster_out) {
  std::vector<node_entry> nodes;
  std::regex line("(coordinator|worker|memory) [0-9.]+:([0-9]+) pid ([0-9]+)");
  for (std::sregex_iterator it(cluster_out.begin(), cluster_out.end(), line), end; it != end; ++it)
    nodes.push_back({(*it)[1], std::stoi((*it)[2]), std::stoi((*it)[3])});
  return nodes;
}

// The TCP ports of process `pid`'s sockets in `state` (0A listening: local ports; 01 established:
// remote ports), its socket inodes matched against /proc/net/tcp{,6}.
std::set<int> socket_ports(int pid, const std::string& wanted_state) {
  std::set<std::string> inodes;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(fd.path(), ec).string();
    if (target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
  }
  std::set<int> ports;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
      const std::string& end = wanted_state == "0A" ? local : remote;
      if (state == wanted_state && inodes.count(inode))
        ports.insert(std::stoi(end.substr(end.find(':') + 1), nullptr, 16));
    }
  }
  return ports;
}
std::set<int> listening_ports(int pid) { return socket_ports(pid, "0A"); }

long rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  long value = -1;
  while (in >> key)
    if (key == "VmRSS:" && in >> value) return value;
  return -1;
}

// From 127.0.0.2: the attack's ~10,000 ephemeral source ports must not take ports that other
// tests running beside this one bind on 127.0.0.1.
int loopback_connection(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  from.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1);
  ::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Descriptors this test may hold: the hard limit, less a margin for the clients it runs.
size_t descriptor_room() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur > 512 ? limit.rlim_cur - 256 : 0;
}

double seconds_of(const std::function<void()>& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(security, a_secret_cluster_listens_only_where_told_and_serves_through_an_attack) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  const auto secret = write_secret("alisa-secret", "correct horse battery staple 0123456789");
  const auto other = write_secret("alisa-other", "another cluster's secret 0123456789abcdef");
  cluster c(base_port(13),
            concat(model_flags(), {"--workers", "1", "--memory-nodes", "1", "--device-kv-budget",
                                   "256KiB", "--host-kv-budget", "4MiB", "--force-phase", "2",
                                   "--cluster-secret-file", secret}));
  ASSERT_TRUE(c.ready()) << c.process().err();
  const auto nodes = nodes_of(c.process().out());
  ASSERT_EQ(nodes.size(), 3u) << c.process().out();
  // Only the given ports: no automatic-connection acceptor on *:<random>.
  for (const auto& n : nodes)
    EXPECT_EQ(listening_ports(n.pid), std::set<int>{n.port}) << n.role;

  const std::vector<std::string> with_secret = {"--cluster-secret-file", secret};
  const std::string expected = engine_text("The cat", 60);
  submitted first;
  const double normal = seconds_of([&] { first = run_submit(c.coordinator(), "The cat", 60, with_secret); });
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.result["text"], expected);
  // The worker dialed the memory node itself (its KV is not relayed through the coordinator).
  auto of_role = [&](const std::string& role) {
    return *std::find_if(nodes.begin(), nodes.end(), [&](const node_entry& n) { return n.role == role; });
  };
  EXPECT_TRUE(socket_ports(of_role("worker").pid, "01").count(of_role("memory").port))
      << "worker has no direct connection to the memory node";

  // Strangers: no secret, another secret, a worker with another secret.
  auto plain = run_submit(c.coordinator(), "The cat", 5, {"--connect-timeout", "2"});
  EXPECT_EQ(plain.exit_code, 1) << plain.err;
  auto wrong = run_submit(c.coordinator(), "The cat", 5, {"--connect-timeout", "2", "--cluster-secret-file", other});
  EXPECT_EQ(wrong.exit_code, 1) << wrong.err;
  EXPECT_NE(wrong.err.find("secrets differ"), std::string::npos) << wrong.err;
  child_process rogue(concat({"node", "--role", "worker", "--coordinator", c.coordinator(),
                              "--join-timeout", "2", "--cluster-secret-file", other},
                             model_flags()));
  EXPECT_EQ(rogue.wait(60s), 1) << rogue.err();

  std::map<int, long> rss_before;
  for (const auto& n : nodes) rss_before[n.pid] = rss_kib(n.pid);
  // The attack, against every node kind at once: a BASP client_handshake announcing 4 GiB, a
  // slowloris, and idle connections (10,000 where the descriptor limit allows).
  std::vector<int> held;
  uint8_t basp_header[32] = {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
  for (const auto& n : nodes) {
    const int fd = loopback_connection(n.port);
    ASSERT_GE(fd, 0);
    ::send(fd, basp_header, sizeof basp_header, MSG_NOSIGNAL);
    held.push_back(fd);
    const int slow = loopback_connection(n.port);
    ::send(slow, "A", 1, MSG_NOSIGNAL);
    held.push_back(slow);
  }
  const size_t idle = std::min<size_t>(10000, descriptor_room());
  for (size_t i = 0; i < idle; ++i) {
    const int fd = loopback_connection(nodes[i % nodes.size()].port);
    if (fd >= 0) held.push_back(fd);
  }
  std::cerr << "holding " << held.size() << " connections to the 3 nodes\n";
  EXPECT_GE(held.size(), std::min<size_t>(idle, 10000) * 9 / 10);
  submitted during;
  const double attacked = seconds_of([&] { during = run_submit(c.coordinator(), "The cat", 60, with_secret); });
  ASSERT_EQ(during.exit_code, 0) << during.err;
  EXPECT_EQ(during.result["text"], expected);
  std::cerr << "submit: " << normal << " s normally, " << attacked << " s under attack\n";
  EXPECT_LE(attacked, 2 * normal + 0.5);  // + scheduling noise on a 2-core machine
  for (const auto& n : nodes) {
    EXPECT_LE(rss_kib(n.pid), rss_before[n.pid] + 64 * 1024) << n.role;
    EXPECT_EQ(listening_ports(n.pid), std::set<int>{n.port}) << n.role;
  }
  for (int fd : held) ::close(fd);
  EXPECT_EQ(cluster_status(c.coordinator(), with_secret).value("workers", -1), 1);
  EXPECT_EQ(c.stop(), 0) << c.process().err();
  std::remove(secret.c_str());
  std::remove(other.c_str());
}

TEST(security, listening_off_loopback_without_credentials_needs_insecure) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  child_process refused(concat({"node", "--role", "coordinator", "--listen", "0.0.0.0:0"}, model_flags()));
  EXPECT_EQ(refused.wait(60s), 1);
  EXPECT_NE(refused.err().find("refusing to listen on 0.0.0.0:0 without credentials"),
            std::string::npos)
      << refused.err();
  child_process allowed(
      concat({"node", "--role", "coordinator", "--listen", "0.0.0.0:0", "--insecure"}, model_flags()));
  EXPECT_TRUE(allowed.wait_for_output("listening on", 60s)) << allowed.err();
  allowed.signal(SIGTERM);
  EXPECT_EQ(allowed.wait(30s), 0) << allowed.err();
}

TEST(security, unusable_credentials_are_one_line_errors_before_any_port_opens) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  const int port = base_port(14);
  struct bad_case {
    std::vector<std::string> flags;
    std::string says;
  };
  const std::string loose = write_secret("alisa-loose", "0123456789abcdef0123456789abcdef");
  ::chmod(loose.c_str(), 0644);
  const std::vector<bad_case> cases = {
      {{"--tls-cert", tls_file("node.pem"), "--tls-key", tls_file("node.pem"), "--tls-ca", tls_file("ca.pem")},
       "--tls-key"},
      {{"--tls-cert", tls_file("node.pem"), "--tls-key", tls_file("other.key"), "--tls-ca", tls_file("ca.pem")},
       "does not match"},
      {{"--tls-cert", tls_file("node.pem"), "--tls-key", tls_file("node.key"), "--tls-ca", tls_file("node.key")},
       "--tls-ca"},
      {{"--cluster-secret-file", loose}, "chmod 600"},
      {{"--cluster-secret-file", loose, "--tls-cert", tls_file("node.pem")}, "alternatives"},
  };
  for (const auto& bad : cases) {
    child_process up(concat(concat({"cluster", "up", "--base-port", std::to_string(port), "--workers",
                                    "1", "--memory-nodes", "0"},
                                   model_flags()),
                            bad.flags));
    EXPECT_EQ(up.wait(60s), 1) << bad.says;
    EXPECT_NE(up.err().find(bad.says), std::string::npos) << up.err();
    EXPECT_EQ(up.out().find("listening"), std::string::npos) << up.out();
  }
  std::remove(loose.c_str());
}

TEST(security, a_worker_serving_another_model_is_refused_naming_the_difference) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  cluster c(base_port(14), concat(model_flags(), {"--workers", "1", "--memory-nodes", "0"}));
  ASSERT_TRUE(c.ready()) << c.process().err();
  child_process other(concat({"node", "--role", "worker", "--coordinator", c.coordinator(),
                              "--join-timeout", "5", "--model", "synthetic:tiny"},
                             {}));
  EXPECT_EQ(other.wait(60s), 1) << other.err();
  EXPECT_NE(other.err().find("this worker serves another model than the coordinator: "),
            std::string::npos)
      << other.err();
  EXPECT_NE(other.err().find("num_layers is 2 here but 5 on the coordinator"), std::string::npos)
      << other.err();
  EXPECT_EQ(cluster_status(c.coordinator()).value("workers", -1), 1);
  auto served = run_submit(c.coordinator(), "The cat", 20);
  ASSERT_EQ(served.exit_code, 0) << served.err;
  EXPECT_EQ(served.result["text"], engine_text("The cat", 20));
  EXPECT_EQ(c.stop(), 0) << c.process().err();
}

// A "coordinator" that accepts TCP (the kernel does) but never speaks: CAF's connect blocks on
// it with no deadline. SIGTERM must still end the node within seconds.
TEST(security, sigterm_ends_a_node_stuck_joining_a_silent_peer) {
  const int silent = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(silent, 16), 0);
  socklen_t length = sizeof a;
  ::getsockname(silent, reinterpret_cast<sockaddr*>(&a), &length);
  const std::string peer = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  child_process node({"node", "--role", "memory", "--host-kv-budget", "1MiB", "--coordinator", peer,
                      "--join-timeout", "120"});
  ASSERT_TRUE(node.wait_for_output("listening on", 30s)) << node.err();
  std::this_thread::sleep_for(1s);  // inside the connect now
  node.signal(SIGTERM);
  const auto start = std::chrono::steady_clock::now();
  const auto code = node.wait(30s);
  ASSERT_TRUE(code.has_value()) << "the node ignored SIGTERM";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);
  EXPECT_NE(*code, 0) << node.err();
  ::close(silent);
}

}  // namespace
}  // namespace alisa::testing
