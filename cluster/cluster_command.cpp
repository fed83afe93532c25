#include "cluster/cluster_command.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <signal.h>
#include <sys/prctl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <thread>

#include "actors/runtime_atoms.hpp"
#include "cluster/cli_errors.hpp"
#include "cluster/machine_memory.hpp"
#include "cluster/node_command.hpp"
#include "cluster/shutdown_signal.hpp"

namespace alisa::cluster {
namespace {

using namespace std::chrono_literals;

struct cluster_flags {
  int workers = 1;
  int memory_nodes = 1;
  int base_port = 7700;
  std::string host = "127.0.0.1";
  int ready_timeout_s = 120;
  int http_port = 0;  // --http: also start `alisa serve` in front of the coordinator
  node_flags node;  // parsed for --help and validation; the children get the raw flags
};

struct child {
  std::string role;
  std::string endpoint;
  pid_t pid = -1;
  bool running = true;
};

// The command line after `cluster up` minus the flags only `cluster up` understands: what every
// node gets; and a --log-level given before `cluster up` (an option of `alisa` itself).
std::vector<std::string> node_arguments(const std::vector<std::string>& args) {
  static const char* own[] = {"--workers", "--memory-nodes", "--base-port", "--host",
                              "--ready-timeout", "--http"};
  std::vector<std::string> out;
  size_t i = 0;
  while (i + 1 < args.size() && !(args[i] == "cluster" && args[i + 1] == "up")) {
    if (args[i] == "--log-level") {
      out.push_back(args[i]);
      out.push_back(args[i + 1]);
    } else if (args[i].rfind("--log-level=", 0) == 0) {
      out.push_back(args[i]);
    }
    ++i;
  }
  i += 2;
  for (; i < args.size(); ++i) {
    bool skip = false;
    for (const char* flag : own) {
      if (args[i] == flag) {
        skip = true;
        ++i;  // and its value
      } else if (args[i].rfind(std::string(flag) + "=", 0) == 0) {
        skip = true;
      }
    }
    if (!skip) out.push_back(args[i]);
  }
  return out;
}

// A memory node's --nvme-dir is a subdirectory of the cluster's, so nodes never share RocksDB.
// args with `flag DIR` (or `flag=DIR`) made DIR/sub: nodes started with the same flags each
// get their own directory (a RocksDB directory has one owner).
std::vector<std::string> with_own_dir(std::vector<std::string> args, const std::string& flag,
                                      const std::string& sub) {
  const std::string joined = flag + "=";
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == flag && i + 1 < args.size()) {
      args[i + 1] = (std::filesystem::path(args[i + 1]) / sub).string();
    } else if (args[i].rfind(joined, 0) == 0) {
      const auto dir = args[i].substr(joined.size());
      args[i] = joined + (std::filesystem::path(dir) / sub).string();
    }
  }
  return args;
}

std::vector<std::string> with_own_nvme_dir(std::vector<std::string> args, int index) {
  return with_own_dir(std::move(args), "--nvme-dir", "memory-" + std::to_string(index));
}

// A worker's prefix cache NVMe level (kept across restarts with --kv-cache-persist: the same
// worker index finds its own directory again).
std::vector<std::string> with_own_prefix_dir(std::vector<std::string> args, int index) {
  return with_own_dir(std::move(args), "--prefix-cache-dir", "worker-" + std::to_string(index));
}

void stop_all(std::vector<child>& children);

// Starts `alisa node ...` (this same binary). Its stdout goes to our stderr: our stdout carries
// only the endpoint lines scripts read.
child start_child(const std::string& role, const std::string& endpoint, std::vector<std::string> argv);

child start_node(const std::string& role, const std::string& listen, const std::string& coordinator,
                 std::vector<std::string> extra) {
  std::vector<std::string> argv = {"alisa", "node", "--role", role, "--listen", listen};
  if (!coordinator.empty()) {
    argv.push_back("--coordinator");
    argv.push_back(coordinator);
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  return start_child(role, listen, std::move(argv));
}

// Forks and runs this binary with `argv` (argv[0] is ignored).
child start_child(const std::string& role, const std::string& endpoint, std::vector<std::string> argv) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(STDERR_FILENO, STDOUT_FILENO);
    // Its own process group: a terminal's Ctrl-C reaches only cluster up, which stops the nodes
    // in order (coordinator last).
    ::setpgid(0, 0);
    // And it stops when cluster up dies, even by SIGKILL: no orphaned nodes.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    std::vector<char*> raw;
    for (auto& a : argv) raw.push_back(a.data());
    raw.push_back(nullptr);
    ::execv("/proc/self/exe", raw.data());
    std::perror("alisa: cannot start a node");
    ::_exit(127);
  }
  if (pid < 0) throw std::runtime_error("cannot start a " + role + " node: fork failed");
  return child{role, endpoint, pid, true};
}

// Whether something accepts TCP connections at host:port now.
bool accepts_connections(const std::string& host, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) == 1 &&
                  ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// With memory nodes and no budgets given, budgets sized from this machine's available memory:
// a device pool of min(256 MiB, 1/8 of it per worker) and a host tier of min(16 GiB, 1/4 of it
// per memory node). Returns the flags to add to every node (empty when the user gave budgets).
std::vector<std::string> default_budgets(const cluster_flags& f) {
  const auto& tiers = f.node.engine.options.tiers;
  if (f.memory_nodes == 0 || tiers.host_budget > 0 || !f.node.engine.device_budget.empty()) return {};
  const uint64_t available = std::max<uint64_t>(available_memory_bytes(), 1ull << 30);
  const uint64_t device = std::min<uint64_t>(256ull << 20, available / 8 / uint64_t(f.workers));
  const uint64_t host = std::min<uint64_t>(16ull << 30, available / 4 / uint64_t(f.memory_nodes));
  const std::string d = std::to_string(device >> 20) + "MiB", h = std::to_string(host >> 20) + "MiB";
  std::cerr << "alisa: no KV budgets given; from this machine's " << (available >> 20)
            << " MiB available: --device-kv-budget " << d << " per worker, --host-kv-budget " << h
            << " per memory node" << std::endl;
  return {"--device-kv-budget", d, "--host-kv-budget", h};
}

// Stops every started node however cluster_up() leaves (return or exception).
struct stop_on_exit {
  std::vector<child>& children;
  ~stop_on_exit() { stop_all(children); }
};

// Asks the coordinator how many workers and memory nodes have joined.
bool members_joined(caf::actor_system& system, const caf::actor& coordinator, int workers,
                    int memory_nodes) {
  caf::scoped_actor self{system};
  bool ready = false;
  self->request(coordinator, std::chrono::seconds(2), actors::status_atom::value)
      .receive(
          [&](uint32_t w, uint32_t m, uint32_t, uint32_t, uint64_t, uint64_t) {
            ready = static_cast<int>(w) >= workers && static_cast<int>(m) >= memory_nodes;
          },
          [&](caf::error&) {});
  return ready;
}

// Reaps children that exited; false when the coordinator is one of them (or, with
// `all_needed`, when any node exited: during start-up every node is needed).
bool reap(std::vector<child>& children, bool all_needed = false) {
  bool coordinator_alive = true;
  for (auto& c : children) {
    if (!c.running) continue;
    int status = 0;
    if (::waitpid(c.pid, &status, WNOHANG) != c.pid) continue;
    c.running = false;
    std::cerr << "alisa: " << c.role << " " << c.endpoint << " exited ("
              << (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                      : "status " + std::to_string(WEXITSTATUS(status)))
              << ")" << std::endl;
    if (c.role == "coordinator" || all_needed) coordinator_alive = false;
  }
  return coordinator_alive;
}

// SIGTERM to every node (the coordinator last, so no node first sees it vanish), then SIGKILL to
// any still running after the grace period.
void stop_all(std::vector<child>& children) {
  for (auto it = children.rbegin(); it != children.rend(); ++it)
    if (it->running) ::kill(it->pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  for (;;) {
    reap(children);
    bool any = false;
    for (auto& c : children) any = any || c.running;
    if (!any) return;
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(50ms);
  }
  for (auto& c : children)
    if (c.running) {
      std::cerr << "alisa: " << c.role << " " << c.endpoint << " did not stop; killing it" << std::endl;
      ::kill(c.pid, SIGKILL);
      ::waitpid(c.pid, nullptr, 0);
      c.running = false;
    }
}

std::string at(const cluster_flags& f, int offset) {
  return f.host + ":" + std::to_string(f.base_port + offset);
}

// --http: `alisa serve --coordinator …` as one more child; true once it accepts connections.
bool start_http(const cluster_flags& f, const std::string& coordinator_at,
                const std::vector<std::string>& extra, std::vector<child>& children) {
  std::vector<std::string> argv = {"alisa", "serve", "--coordinator", coordinator_at,
                                   "--host", f.host, "--port", std::to_string(f.http_port)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  children.push_back(start_child("http", f.host + ":" + std::to_string(f.http_port), argv));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(f.ready_timeout_s);
  while (std::chrono::steady_clock::now() < deadline && !shutdown_requested()) {
    if (!reap(children, true)) return false;
    if (accepts_connections(f.host, f.http_port)) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

int cluster_up(cluster_flags& flags, const std::vector<std::string>& args) {
  if (flags.workers < 1) return fail("--workers must be >= 1");
  if (flags.memory_nodes < 0) return fail("--memory-nodes must be >= 0");
  if (flags.base_port < 1 || flags.base_port + flags.workers + flags.memory_nodes > 65535)
    return fail("--base-port must leave room for every node's port (1-65535)");
  if (auto err = finish_engine_flags(flags.node.engine)) return fail(*err);
  if (auto err = flags.node.security.validate()) return fail(*err);
  flags.node.batching.validate();  // here, not only in the coordinator node it starts
  const auto& security = flags.node.security;
  if (!is_loopback_host(flags.host) && !security.tls_enabled() && !security.secret_enabled() &&
      !security.insecure)
    return fail("refusing to start nodes on " + flags.host +
                " without credentials: give --cluster-secret-file or --tls-cert/--tls-key/--tls-ca "
                "(or --insecure)");
  if (flags.http_port < 0 || flags.http_port > 65535) return fail("--http must be a port in [1, 65535]");
  install_shutdown_signals(std::chrono::seconds(25));  // > stop_all's 15 s grace
  auto extra = node_arguments(args);
  for (auto& a : default_budgets(flags)) extra.push_back(a);
  const std::string coordinator_at = at(flags, 0);
  std::vector<child> children;
  stop_on_exit guard{children};
  children.push_back(start_node("coordinator", coordinator_at, "", extra));
  for (int i = 0; i < flags.workers; ++i)
    children.push_back(
        start_node("worker", at(flags, 1 + i), coordinator_at, with_own_prefix_dir(extra, i)));
  for (int i = 0; i < flags.memory_nodes; ++i)
    children.push_back(start_node("memory", at(flags, 1 + flags.workers + i), coordinator_at,
                                  with_own_nvme_dir(extra, i)));
  int code = 0;
  {
    node_system client(flags.node.security);
    std::string error;
    endpoint coordinator_endpoint{flags.host, static_cast<uint16_t>(flags.base_port)};
    auto coordinator = client.connect(coordinator_endpoint, std::chrono::seconds(flags.ready_timeout_s), error);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(flags.ready_timeout_s);
    bool ready = false;
    bool all_started = true;
    while (coordinator && !ready && !shutdown_requested() && (all_started = reap(children, true)) &&
           std::chrono::steady_clock::now() < deadline) {
      ready = members_joined(client.system(), *coordinator, flags.workers, flags.memory_nodes);
      if (!ready) std::this_thread::sleep_for(100ms);
    }
    if (ready && flags.http_port > 0) ready = start_http(flags, coordinator_at, extra, children);
    if (ready) {
      for (const auto& c : children)
        std::cout << c.role << " " << c.endpoint << " pid " << c.pid << "\n";
      std::cout << "ready: coordinator " << coordinator_at << ", " << flags.workers << " workers, "
                << flags.memory_nodes << " memory nodes (Ctrl-C stops the cluster)" << std::endl;
      while (!shutdown_requested() && reap(children)) std::this_thread::sleep_for(100ms);
      if (!shutdown_requested()) code = fail("the coordinator exited; stopping the cluster");
    } else if (!shutdown_requested()) {
      code = fail(!all_started ? "a node exited during start-up (its error is above)"
                  : coordinator ? "the cluster did not come up within --ready-timeout (" +
                                      std::to_string(flags.ready_timeout_s) + " s)"
                                : error);
    }
  }
  stop_all(children);
  std::cerr << "alisa: cluster stopped" << std::endl;
  return code;  // (the guard finds nothing left to stop)
}

}  // namespace

void add_cluster_command(CLI::App& app, int& exit_code, const std::vector<std::string>& args) {
  CLI::App* cluster = app.add_subcommand("cluster", "run a local multi-process cluster");
  cluster->require_subcommand(1);
  auto flags = std::make_shared<cluster_flags>();
  CLI::App* up = cluster->add_subcommand(
      "up", "start a coordinator, workers and memory nodes as processes on this machine, print "
            "their endpoints, and stop them all on Ctrl-C / SIGTERM");
  up->add_option("--workers", flags->workers, "GPU worker processes")->capture_default_str();
  up->add_option("--memory-nodes", flags->memory_nodes, "memory-tier processes")
      ->capture_default_str();
  up->add_option("--base-port", flags->base_port,
                 "the coordinator's port; workers and memory nodes take the next ones")
      ->capture_default_str();
  up->add_option("--host", flags->host, "address every node binds to")->capture_default_str();
  up->add_option("--http", flags->http_port,
                 "also serve the OpenAI-compatible HTTP API on this port (alisa serve --coordinator)");
  up->add_option("--ready-timeout", flags->ready_timeout_s,
                 "seconds to wait for every node to join")
      ->capture_default_str();
  add_engine_flags(*up, flags->node.engine);
  add_batching_flags(*up, flags->node.batching);
  add_coordinator_flags(*up, flags->node);
  add_security_flags(*up, flags->node.security);
  up->callback([flags, &exit_code, &args] {
    exit_code = run_reporting_errors([&] { return cluster_up(*flags, args); });
  });
}

}  // namespace alisa::cluster
