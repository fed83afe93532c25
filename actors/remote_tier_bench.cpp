#include "actors/remote_tier_bench.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <string>
#include <vector>

#include "actors/memory_tier.hpp"
#include "actors/remote_block_store.hpp"
#include "proto/caf_messages.hpp"
#include "storage/block_codec.hpp"

namespace alisa::actors {
namespace {

struct bench_config : caf::actor_system_config {
  bench_config() {
    register_message_types(*this);
    load<caf::io::middleman>();
    set("scheduler.policy", caf::atom("sharing"));  // as the nodes run (cluster/node_system.cpp)
  }
};

// One block of 64 tokens whose rows total about `payload_bytes`.
std::string bench_block(size_t payload_bytes) {
  const auto row_bytes =
      static_cast<uint32_t>(std::max<size_t>(1, payload_bytes / kv_block_tokens));
  std::string rows(size_t{row_bytes} * kv_block_tokens, '\0');
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<char>(i * 131 + 7);
  return storage::encode_block({kv_part::keys, 0, uint32_t(kv_block_tokens), row_bytes, 0}, rows,
                               {});
}

remote_tier_bench_result summarise(std::vector<double> seconds, size_t bytes) {
  std::sort(seconds.begin(), seconds.end());
  const double median = seconds[seconds.size() / 2];
  const double gib = static_cast<double>(bytes) / double(uint64_t{1} << 30);
  return {bytes, static_cast<int>(seconds.size()), gib / median, gib / seconds.front(),
          median * 1e3};
}

// The timed part, on a connected store.
absl::StatusOr<remote_tier_bench_result> time_fetches(remote_block_store& store,
                                                      const remote_tier_bench_options& options) {
  const std::string value = bench_block(options.payload_bytes);
  const storage::block_key key{1, 0, kv_part::keys, 0};
  if (auto r = store.put(key, value); r.outcome != storage::put_outcome::stored)
    return absl::InternalError("remote tier bench: put failed: " + std::string(r.error.message()));
  std::vector<int32_t> offsets;
  if (options.all_rows) {
    offsets.resize(kv_block_tokens);
    std::iota(offsets.begin(), offsets.end(), 0);
  }
  std::string buffer;
  std::vector<double> seconds;
  for (int i = 0; i <= options.repetitions; ++i) {  // the first one warms up
    const auto t0 = std::chrono::steady_clock::now();
    auto rows = store.get_rows(key, offsets, buffer);
    const auto t1 = std::chrono::steady_clock::now();
    if (!rows.ok()) return rows.status();
    if (rows->size() != value.size())
      return absl::InternalError("remote tier bench: fetched " + std::to_string(rows->size()) +
                                 " bytes, expected " + std::to_string(value.size()));
    if (i > 0) seconds.push_back(std::chrono::duration<double>(t1 - t0).count());
  }
  return summarise(std::move(seconds), value.size());
}

}  // namespace

absl::StatusOr<remote_tier_bench_result> run_remote_tier_bench(
    const remote_tier_bench_options& options) {
  if (options.repetitions <= 0 || options.payload_bytes == 0)
    return absl::InvalidArgumentError(
        "remote tier bench: repetitions and payload_bytes must be > 0");
  bench_config server_cfg, client_cfg;
  caf::actor_system server{server_cfg};
  auto tier = spawn_memory_tier(server, {node_id{1}, 4 * options.payload_bytes + (1 << 20), "", 0});
  if (!tier.ok()) return tier.status();
  absl::StatusOr<remote_tier_bench_result> result = absl::UnknownError("not run");
  {
    caf::actor_system client{client_cfg};
    auto port = server.middleman().publish(*tier, 0, "127.0.0.1", true);
    auto proxy = port ? client.middleman().remote_actor("127.0.0.1", *port)
                      : caf::expected<caf::actor>(port.error());
    if (!proxy) {
      result = absl::UnavailableError("remote tier bench: " + server.render(proxy.error()));
    } else if (auto store = connect_remote_block_store(client, *proxy, {"bench"}); !store.ok()) {
      result = store.status();
    } else {
      result = time_fetches(**store, options);
    }
  }
  caf::anon_send_exit(*tier, caf::exit_reason::user_shutdown);
  return result;
}

}  // namespace alisa::actors
