#include "cluster/bench_remote_tier.hpp"

#include <cstdio>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "actors/remote_tier_bench.hpp"
#include "cluster/cli_errors.hpp"
#include "proto/byte_size.hpp"

namespace alisa::cluster {
namespace {

struct remote_tier_flags {
  std::string payload = "1MiB";
  int repetitions = 50;
  bool whole_value = false;
  bool json = false;
};

int bench_remote_tier(const remote_tier_flags& flags) {
  std::string error;
  const auto bytes = parse_byte_size(flags.payload, error);
  if (!bytes || *bytes == 0) return fail("--payload: " + (error.empty() ? "must be > 0" : error));
  if (flags.repetitions < 1) return fail("--repetitions must be >= 1");
  actors::remote_tier_bench_options o;
  o.payload_bytes = static_cast<size_t>(*bytes);
  o.repetitions = flags.repetitions;
  o.all_rows = !flags.whole_value;
  auto r = actors::run_remote_tier_bench(o);
  if (!r.ok()) return fail(r.status());
  if (flags.json) {
    std::cout << nlohmann::json{{"payload_bytes", r->payload_bytes},
                                {"repetitions", r->repetitions},
                                {"token_granular", o.all_rows},
                                {"median_gib_per_s", r->median_gib_per_s},
                                {"best_gib_per_s", r->best_gib_per_s},
                                {"median_ms", r->median_ms}}
                     .dump()
              << std::endl;
    return 0;
  }
  std::printf("remote tier fetch of %zu bytes over loopback: median %.3f GiB/s (%.3f ms), best %.3f GiB/s\n",
              r->payload_bytes, r->median_gib_per_s, r->median_ms, r->best_gib_per_s);
  return 0;
}

}  // namespace

void add_bench_remote_tier_command(CLI::App& bench, int& exit_code) {
  auto flags = std::make_shared<remote_tier_flags>();
  CLI::App* cmd = bench.add_subcommand(
      "remote-tier", "fetch bandwidth from a memory tier over CAF's network layer (loopback TCP)");
  cmd->add_option("--payload", flags->payload, "bytes of KV rows per fetch, e.g. 1MiB")
      ->capture_default_str();
  cmd->add_option("--repetitions", flags->repetitions, "fetches timed")->capture_default_str();
  cmd->add_flag("--whole-value", flags->whole_value,
                "fetch the stored value whole instead of naming every row (token-granular)");
  cmd->add_flag("--json", flags->json,
                "print {payload_bytes, repetitions, token_granular, median_gib_per_s, "
                "best_gib_per_s, median_ms}");
  cmd->callback([flags, &exit_code] {
    exit_code = run_reporting_errors([&] { return bench_remote_tier(*flags); });
  });
}

}  // namespace alisa::cluster
