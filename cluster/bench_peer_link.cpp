#include "cluster/bench_peer_link.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/peer_link_setup.hpp"
#include "cluster/cli_errors.hpp"
#include "cluster/coordinator_client.hpp"
#include "cluster/node_system.hpp"
#include "proto/byte_size.hpp"
#include "proto/caf_messages.hpp"

namespace alisa::cluster {
namespace {

struct peer_link_flags {
  coordinator_flags client;
  std::string bytes = "64MiB";
  int rounds = 5;
  std::string transport = "auto";
  std::vector<std::string> workers;
  bool json = false;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// GB/s = 1e9 bytes per second, as every bandwidth alisa reports.
nlohmann::json to_json(const peer_link_bench_result& r) {
  std::vector<double> gbps;
  for (double s : r.seconds) gbps.push_back(s > 0 ? double(r.bytes) / s / 1e9 : 0.0);
  return {{"transport", r.transport},
          {"reason", r.reason},
          {"sender", r.sender},
          {"receiver", r.receiver},
          {"bytes", r.bytes},
          {"rounds", r.seconds.size()},
          {"gbps_median", median(gbps)},
          {"gbps_best", *std::max_element(gbps.begin(), gbps.end())},
          {"ms_median", median(r.seconds) * 1e3},
          {"seconds", r.seconds}};
}

// The request may take a while: link setup (NCCL: up to a minute), then rounds + 1 transfers.
std::chrono::milliseconds answer_timeout(uint64_t bytes, int rounds) {
  const double seconds = 300.0 + double(rounds + 1) * double(bytes) / 10e6;
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1e3));
}

int bench_peer_link(peer_link_flags& flags) {
  std::string error;
  const auto bytes = parse_byte_size(flags.bytes, error);
  if (!bytes || *bytes == 0) return fail("--bytes: " + (error.empty() ? "must be > 0" : error));
  if (flags.rounds < 1) return fail("--rounds must be >= 1");
  if (!flags.workers.empty() && flags.workers.size() != 2)
    return fail("--workers names two workers (sender,receiver) by the HOST:PORT they listen on");
  if (auto err = flags.client.security.validate()) return fail(*err);
  node_system node(flags.client.security);
  endpoint at;
  auto coordinator = connect_coordinator(node, flags.client, at, error);
  if (!coordinator) return fail(error);
  const peer_link_bench request{*bytes, static_cast<uint32_t>(flags.rounds), flags.transport,
                                flags.workers};
  std::optional<peer_link_bench_result> result;
  {
    caf::scoped_actor self{node.system()};
    self->request(*coordinator, answer_timeout(*bytes, flags.rounds), request)
        .receive([&](peer_link_bench_result& r) { result = std::move(r); },
                 [&](caf::error& err) {
                   error = actors::peer_link_error_text(node.system(), err);
                 });
  }
  if (!result) return fail("peer link via the coordinator at " + at.to_string() + ": " + error);
  const auto j = to_json(*result);
  if (flags.json) {
    std::cout << j.dump() << std::endl;
    return 0;
  }
  std::printf("%s -> %s over %s: %s x %zu rounds, median %.3f GB/s (%.3f ms), best %.3f GB/s\n",
              result->sender.c_str(), result->receiver.c_str(), result->transport.c_str(),
              format_byte_size(result->bytes).c_str(), result->seconds.size(),
              j["gbps_median"].get<double>(), j["ms_median"].get<double>(),
              j["gbps_best"].get<double>());
  std::printf("transport: %s\n", result->reason.c_str());
  return 0;
}

}  // namespace

void add_bench_peer_link_command(CLI::App& bench, int& exit_code) {
  auto flags = std::make_shared<peer_link_flags>();
  CLI::App* cmd = bench.add_subcommand(
      "peer-link",
      "GPU-to-GPU transfer bandwidth between two workers of a running cluster (NCCL, or CAF "
      "messages where NCCL is unavailable)");
  add_coordinator_flags(*cmd, flags->client);
  cmd->add_option("--bytes", flags->bytes, "bytes of backend memory per transfer, e.g. 64MiB")
      ->capture_default_str();
  cmd->add_option("--rounds", flags->rounds, "timed transfers (after one untimed warm-up)")
      ->capture_default_str();
  cmd->add_option("--transport", flags->transport,
                  "auto (NCCL where both workers can use it, else CAF), nccl (fail without it) or "
                  "caf")
      ->check(CLI::IsMember({"auto", "nccl", "caf"}))
      ->capture_default_str();
  cmd->add_option("--workers", flags->workers,
                  "sender,receiver: the HOST:PORT the two workers listen on (default: the first "
                  "two that joined)")
      ->delimiter(',');
  cmd->add_flag("--json", flags->json,
                "print {transport, reason, sender, receiver, bytes, rounds, gbps_median, "
                "gbps_best, ms_median, seconds} (GB/s = 1e9 bytes/s)");
  cmd->callback([flags, &exit_code] {
    exit_code = run_reporting_errors([&] { return bench_peer_link(*flags); });
  });
}

}  // namespace alisa::cluster
