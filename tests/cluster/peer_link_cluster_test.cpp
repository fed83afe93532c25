// `alisa bench peer-link` against a multi-process cluster on loopback, run as a user runs it: the
// coordinator pairs the two worker processes, they link over CAF (CPU backends: no NCCL), and the
// JSON reports the transport, its reason and the bandwidth; bad flags and bad requests are
// one-line errors. Every wait is bounded; every process is stopped (or killed) at the end.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/shared_models.hpp"

namespace alisa::testing {
namespace {

using namespace std::chrono_literals;

// Ports per test process: below the ephemeral range (32768+, where clients' outgoing connections
// land) and clear of tests/cluster/cluster_test.cpp's 20000-32000.
int base_port(int test_index) { return 12000 + (::getpid() % 150) * 16 + test_index * 8; }

struct ran {
  std::optional<int> exit_code;
  std::string out, err;
};

ran run_alisa(const std::vector<std::string>& args, std::chrono::seconds timeout = 120s) {
  child_process p(args);
  ran r;
  r.exit_code = p.wait(timeout);
  r.out = p.out();
  r.err = p.err();
  return r;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(bench_peer_link, help_names_every_flag) {
  auto r = run_alisa({"bench", "peer-link", "--help"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* flag : {"--coordinator", "--bytes", "--rounds", "--transport", "--workers",
                           "--json", "--connect-timeout"})
    EXPECT_TRUE(contains(r.out, flag)) << flag << " missing from:\n" << r.out;
}

TEST(bench_peer_link, bad_flags_are_one_line_errors) {
  auto r = run_alisa({"bench", "peer-link", "--bytes", "0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "alisa: error: --bytes")) << r.err;
  r = run_alisa({"bench", "peer-link", "--workers", "127.0.0.1:1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "--workers names two workers")) << r.err;
  r = run_alisa({"bench", "peer-link", "--transport", "carrier-pigeon"});
  EXPECT_NE(r.exit_code, 0);
  // Nobody listens there: a clear error after the connect timeout, not a hang.
  r = run_alisa({"bench", "peer-link", "--coordinator", "127.0.0.1:" + std::to_string(base_port(1)),
                 "--connect-timeout", "1"},
                60s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "alisa: error:")) << r.err;
}

TEST(bench_peer_link, two_worker_processes_link_over_caf) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  const int port = base_port(0);
  const std::string coordinator = "127.0.0.1:" + std::to_string(port);
  child_process cluster({"cluster", "up", "--base-port", std::to_string(port), "--workers", "2",
                         "--memory-nodes", "0", "--model",
                         shared_model_path("stories260K/stories260K.bin"), "--tokenizer",
                         shared_model_path("stories260K/tok512.bin")});
  ASSERT_TRUE(cluster.wait_for_output("ready:", 90s)) << cluster.err();

  auto r = run_alisa({"bench", "peer-link", "--coordinator", coordinator, "--bytes", "6MiB",
                      "--rounds", "3", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << "\ncluster:\n" << cluster.err();
  const auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j.value("transport", ""), "caf");
  EXPECT_TRUE(contains(j.value("reason", ""), "cannot use NCCL")) << j.dump();
  EXPECT_EQ(j.value("bytes", uint64_t{0}), uint64_t{6} << 20);
  EXPECT_EQ(j.value("rounds", 0), 3);
  EXPECT_GT(j.value("gbps_median", 0.0), 0.0) << j.dump();
  EXPECT_NE(j.value("sender", ""), j.value("receiver", ""));
  // Both workers logged the choice and its reason.
  EXPECT_TRUE(contains(cluster.err(), "(rank 0 of 2) uses caf")) << cluster.err();
  EXPECT_TRUE(contains(cluster.err(), "(rank 1 of 2) uses caf")) << cluster.err();

  // The other direction, named, in text form.
  r = run_alisa({"bench", "peer-link", "--coordinator", coordinator, "--bytes", "1MiB",
                 "--rounds", "1", "--workers",
                 j.value("receiver", "") + "," + j.value("sender", "")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, j.value("receiver", "") + " -> " + j.value("sender", "") +
                                  " over caf"))
      << r.out;

  // NCCL demanded where the workers cannot use it: an error that says why.
  r = run_alisa({"bench", "peer-link", "--coordinator", coordinator, "--bytes", "1MiB",
                 "--transport", "nccl"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "NCCL was asked for")) << r.err;

  cluster.signal(SIGTERM);
  EXPECT_EQ(cluster.wait(30s), 0) << cluster.err();
}

}  // namespace
}  // namespace alisa::testing
