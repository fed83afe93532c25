#pragma once
// cluster_process — a `cluster up` of the stories260K model run as a user runs it, and the
// clients the multi-process tests drive it with (`submit --json`, `status --json`). Every wait is
// bounded; the cluster is stopped with SIGTERM (or killed) when its handle dies.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/stories_engine.hpp"

namespace alisa::testing {

using namespace std::chrono_literals;

inline std::string model_path() { return shared_model_path("stories260K/stories260K.bin"); }
inline std::string tokenizer_path() { return shared_model_path("stories260K/tok512.bin"); }
inline std::string tls_file(const std::string& name) {
  return std::string(ALISA_SOURCE_DIR) + "/tests/data/tls/" + name;
}

// Ports per test process: ctest runs tests of this suite as parallel processes.
// 18 tests of 8 ports per process slot (20000-31999), below Linux's ephemeral range (32768).
inline int base_port(int test_index) { return 20000 + (::getpid() % 83) * 144 + test_index * 8; }

// The engine's own greedy text for a prompt: the reference every path must match.
inline std::string engine_text(const std::string& prompt, int max_tokens) {
  auto engine = open_stories_engine();
  if (!engine) return "<engine failed>";
  auto ids = engine->encode_prompt(prompt);
  EXPECT_TRUE(ids.ok());
  sampling_params p;
  p.max_tokens = max_tokens;
  return engine->generate(*ids, p).text;
}

inline std::vector<std::string> model_flags() {
  return {"--model", model_path(), "--tokenizer", tokenizer_path()};
}

// A running `cluster up`, stopped with SIGTERM at the end (the test checks it exits cleanly).
class cluster {
 public:
  cluster(int port, std::vector<std::string> flags) : port_(port) {
    std::vector<std::string> args = {"cluster", "up", "--base-port", std::to_string(port)};
    args.insert(args.end(), flags.begin(), flags.end());
    process_ = std::make_unique<child_process>(args);
    ready_ = process_->wait_for_output("ready:", 90s);
  }
  bool ready() const { return ready_; }
  std::string coordinator() const { return "127.0.0.1:" + std::to_string(port_); }
  child_process& process() { return *process_; }
  // pid of the node listening on `endpoint`, from cluster up's "ROLE ENDPOINT pid PID" lines.
  int pid_of(const std::string& role, int index) {
    std::regex line(role + " [0-9.]+:[0-9]+ pid ([0-9]+)");
    auto out = process_->out();
    int i = 0;
    for (std::sregex_iterator it(out.begin(), out.end(), line), end; it != end; ++it, ++i)
      if (i == index) return std::stoi((*it)[1]);
    return -1;
  }
  // SIGTERM; every process must be gone within the grace period.
  std::optional<int> stop() {
    process_->signal(SIGTERM);
    return process_->wait(30s);
  }

 private:
  int port_;
  std::unique_ptr<child_process> process_;
  bool ready_ = false;
};

struct submitted {
  std::optional<int> exit_code;
  nlohmann::json result;
  std::string err;
};

inline submitted run_submit(const std::string& coordinator, const std::string& prompt, int max_tokens,
                     std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"submit", "--coordinator", coordinator, "--prompt", prompt,
                                   "--max-tokens", std::to_string(max_tokens), "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  child_process p(args);
  submitted s;
  s.exit_code = p.wait(180s);
  s.err = p.err();
  if (s.exit_code == 0) s.result = nlohmann::json::parse(p.out(), nullptr, false);
  return s;
}

inline std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// `alisa status --json` of a cluster: workers, memory nodes, queued, running, restarts.
inline nlohmann::json cluster_status(const std::string& coordinator, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"status", "--coordinator", coordinator, "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  child_process p(args);
  if (p.wait(30s) != 0) return nlohmann::json::object();
  return nlohmann::json::parse(p.out(), nullptr, false);
}

inline std::vector<std::string> tls_flags(const std::string& cert, const std::string& key) {
  return {"--tls-cert", tls_file(cert), "--tls-key", tls_file(key), "--tls-ca", tls_file("ca.pem")};
}

}  // namespace alisa::testing
