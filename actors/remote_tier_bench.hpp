#pragma once
// remote_tier_bench — how fast KV rows come back from a memory tier over the network: two actor
// systems in this process, a memory_tier published on 127.0.0.1 by one and reached through
// remote_block_store by the other, so every fetch crosses CAF's middleman and loopback TCP.
// Returns numbers; the caller prints them (the CLI wires it up).
//
// Runs on the calling thread (blocking); starts and stops its own actor systems.
#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"

namespace alisa::actors {

struct remote_tier_bench_options {
  size_t payload_bytes = size_t{1} << 20;  // bytes of rows per fetch (one 64-token block)
  int repetitions = 50;                    // fetches timed; > 0
  bool all_rows = true;  // fetch every row by offsets (token-granular path); false: whole value
};

struct remote_tier_bench_result {
  size_t payload_bytes = 0;  // bytes of the fetched value (rows + header)
  int repetitions = 0;
  double median_gib_per_s = 0.0;
  double best_gib_per_s = 0.0;
  double median_ms = 0.0;  // one fetch, request to reply
};

absl::StatusOr<remote_tier_bench_result> run_remote_tier_bench(
    const remote_tier_bench_options& options = {});

}  // namespace alisa::actors
