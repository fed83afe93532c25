// The memory tier and the worker-side stores that talk to it: put / token-granular fetch / erase /
// usage through remote_block_store, in one actor system and over loopback TCP between two
// systems; a spread over two tiers when one node's budget is too small; and a tier that dies
// (the remote store fails fast, never hangs).
#include "actors/memory_tier.hpp"

#include <gtest/gtest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "actors/remote_block_store.hpp"
#include "actors/remote_tier_bench.hpp"
#include "actors/spread_block_store.hpp"
#include "proto/caf_messages.hpp"
#include "storage/block_codec.hpp"
#include "tests/storage/temp_dir.hpp"

namespace alisa::actors {
namespace {

using storage::block_key;
using storage::put_outcome;
using clock_type = std::chrono::steady_clock;

constexpr uint32_t kRowBytes = 256;

std::string random_block(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string rows(size_t{kv_block_tokens} * kRowBytes, '\0');
  for (auto& c : rows) c = static_cast<char>(rng());
  return storage::encode_block({kv_part::keys, 0, uint32_t(kv_block_tokens), kRowBytes, 0}, rows,
                               {});
}

uint64_t block_bytes() { return random_block(0).size(); }

block_key key_of(uint64_t sequence, uint32_t block) {
  return {sequence, 3, kv_part::values, block};
}

// The rows at `offsets` of `value`, re-encoded: what a token-granular fetch must return.
std::string slice(const std::string& value, const std::vector<int32_t>& offsets) {
  auto view = storage::decode_block(value);
  std::string rows;
  for (int32_t off : offsets) rows.append(view->row(off));
  storage::block_header header = view->header;
  header.num_tokens = static_cast<uint32_t>(offsets.size());
  return storage::encode_block(header, rows, view->stats);
}

struct node_config : caf::actor_system_config {
  explicit node_config(bool network) {
    set("scheduler.max-threads", 2);
    register_message_types(*this);
    if (network) load<caf::io::middleman>();
  }
};

// One actor system (a "node"); the tiers it spawned are stopped before it shuts down (its
// destructor waits for every actor).
struct node {
  explicit node(bool network) : cfg(network), system(cfg) {}
  ~node() {
    for (auto& t : tiers) caf::anon_send_exit(t, caf::exit_reason::user_shutdown);
  }
  caf::actor spawn_tier(memory_tier_options options) {
    auto tier = spawn_memory_tier(system, options);
    EXPECT_TRUE(tier.ok()) << tier.status();
    tiers.push_back(tier.ok() ? *tier : caf::actor{});
    return tiers.back();
  }
  uint16_t publish(const caf::actor& tier) {
    auto port = system.middleman().publish(tier, 0, "127.0.0.1", true);
    EXPECT_TRUE(port) << system.render(port.error());
    return port ? *port : 0;
  }
  caf::actor connect(uint16_t port) {
    auto tier = system.middleman().remote_actor("127.0.0.1", port);
    EXPECT_TRUE(tier) << system.render(tier.error());
    return tier ? *tier : caf::actor{};
  }
  std::unique_ptr<remote_block_store> store(const caf::actor& tier, std::string name,
                                            std::chrono::milliseconds timeout =
                                                std::chrono::seconds(10)) {
    auto s = connect_remote_block_store(system, tier, {std::move(name), timeout});
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  tier_usage usage(const caf::actor& tier) {
    caf::scoped_actor self{system};
    tier_usage out;
    self->request(tier, std::chrono::seconds(10), tier_usage_request{})
        .receive([&](tier_usage& u) { out = u; },
                 [&](caf::error& e) { ADD_FAILURE() << system.render(e); });
    return out;
  }

  node_config cfg;
  caf::actor_system system;
  std::vector<caf::actor> tiers;
};

std::string read(storage::block_store& store, const block_key& key) {
  std::string buffer;
  auto value = store.get(key, buffer);
  EXPECT_TRUE(value.ok()) << value.status();
  return value.ok() ? std::string(*value) : std::string();
}

// Options of a tier holding 4 blocks in RAM and 4 on NVMe under `dir`.
memory_tier_options small_tier(const storage::test::temp_dir& dir, uint64_t node) {
  return {node_id{node}, 4 * block_bytes(), dir.sub("nvme" + std::to_string(node)),
          4 * block_bytes(), 64 << 10};
}

// The protocol end to end through `store`, whose tier is small_tier(): 6 blocks (4 in RAM, 2
// spilled to NVMe) read back whole and as rows, then erased.
void exercise(node& client, const caf::actor& tier, remote_block_store& store) {
  EXPECT_TRUE(store.is_remote());
  EXPECT_EQ(store.budget_bytes(), 8 * block_bytes());
  std::vector<std::string> values;
  for (uint32_t b = 0; b < 6; ++b) {
    values.push_back(random_block(b + 1));
    ASSERT_EQ(store.put(key_of(5, b), values.back()).outcome, put_outcome::stored) << b;
  }
  EXPECT_EQ(store.bytes_used(), 6 * block_bytes());
  EXPECT_EQ(store.num_values(), 6u);
  const tier_usage u = client.usage(tier);
  EXPECT_EQ(u.host_bytes_used, 4 * block_bytes());
  EXPECT_EQ(u.nvme_bytes_used, 2 * block_bytes());
  EXPECT_EQ(u.host_budget, 4 * block_bytes());
  EXPECT_EQ(u.nvme_budget, 4 * block_bytes());
  for (uint32_t b = 0; b < 6; ++b) EXPECT_EQ(read(store, key_of(5, b)), values[b]) << b;

  const std::vector<int32_t> offsets = {0, 7, 8, 63, 31};
  std::string buffer;
  for (uint32_t b : {1u, 5u}) {  // one block from RAM, one from NVMe
    auto rows = store.get_rows(key_of(5, b), offsets, buffer);
    ASSERT_TRUE(rows.ok()) << rows.status();
    EXPECT_EQ(std::string(*rows), slice(values[b], offsets)) << b;
  }
  EXPECT_EQ(store.get(key_of(9, 0), buffer).status().code(), absl::StatusCode::kNotFound);
  const std::vector<int32_t> bad = {64};
  EXPECT_EQ(store.get_rows(key_of(5, 0), bad, buffer).status().code(),
            absl::StatusCode::kInvalidArgument);

  ASSERT_TRUE(store.erase(key_of(5, 5)).ok());
  EXPECT_EQ(store.get(key_of(5, 5), buffer).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.bytes_used(), 5 * block_bytes());
  ASSERT_TRUE(store.erase_sequence(5).ok());
  EXPECT_EQ(store.num_values(), 0u);
  EXPECT_EQ(store.bytes_used(), 0u);
  EXPECT_EQ(client.usage(tier).host_bytes_used + client.usage(tier).nvme_bytes_used, 0u);
  EXPECT_TRUE(store.alive());
}

TEST(MemoryTier, InOneActorSystem) {
  storage::test::temp_dir dir;
  node n(/*network=*/false);
  caf::actor tier = n.spawn_tier(small_tier(dir, 1));
  auto store = n.store(tier, "memory node 1");
  ASSERT_NE(store, nullptr);
  exercise(n, tier, *store);
}

TEST(MemoryTier, FullWhenRamAndNvmeAreFull) {
  storage::test::temp_dir dir;
  node n(false);
  caf::actor tier = n.spawn_tier(small_tier(dir, 1));
  auto store = n.store(tier, "memory node 1");
  ASSERT_NE(store, nullptr);
  for (uint32_t b = 0; b < 8; ++b)
    ASSERT_EQ(store->put(key_of(1, b), random_block(b)).outcome, put_outcome::stored);
  EXPECT_EQ(store->put(key_of(1, 8), random_block(8)).outcome, put_outcome::full);
  EXPECT_EQ(store->num_values(), 8u);
  EXPECT_TRUE(store->alive());
}

// Prefix-cache blocks use only room no job needs: a job's block evicts the least recently used
// of them when the tier is full, while a prefix block never evicts a job's.
TEST(MemoryTier, PrefixBlocksMakeRoomForJobBlocksOldestFirst) {
  node n(false);
  caf::actor tier = n.spawn_tier({node_id{1}, 4 * block_bytes()});
  auto store = n.store(tier, "memory node 1");
  ASSERT_NE(store, nullptr);
  auto prefix_key = [](uint32_t i) { return block_key{1000 + i, 7, kv_part::prefix, i}; };
  for (uint32_t i = 0; i < 3; ++i)
    ASSERT_EQ(store->put(prefix_key(i), random_block(i)).outcome, put_outcome::stored);
  std::string buffer;
  ASSERT_TRUE(store->get(prefix_key(0), buffer).ok());  // prefix 0 is now newer than 1 and 2
  for (uint32_t b = 0; b < 3; ++b)  // jobs take the room: prefixes 1 and 2 leave, in that order
    ASSERT_EQ(store->put(key_of(5, b), random_block(10 + b)).outcome, put_outcome::stored) << b;
  EXPECT_EQ(store->get(prefix_key(1), buffer).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->get(prefix_key(2), buffer).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(read(*store, prefix_key(0)), random_block(0));
  // Full of job blocks and one prefix: a new prefix block may evict the old one, never a job's.
  ASSERT_EQ(store->put(prefix_key(3), random_block(3)).outcome, put_outcome::stored);
  EXPECT_EQ(store->get(prefix_key(0), buffer).status().code(), absl::StatusCode::kNotFound);
  ASSERT_EQ(store->put(key_of(5, 3), random_block(13)).outcome, put_outcome::stored);
  EXPECT_EQ(store->put(prefix_key(4), random_block(4)).outcome, put_outcome::full);
  for (uint32_t b = 0; b < 4; ++b) EXPECT_EQ(read(*store, key_of(5, b)), random_block(10 + b)) << b;
}

TEST(MemoryTier, BadNvmeDirIsASpawnError) {
  node n(false);
  auto tier = spawn_memory_tier(n.system, {node_id{1}, 1 << 20, "/proc/alisa-no-such/x", 1 << 20});
  EXPECT_FALSE(tier.ok());
  auto no_budget = spawn_memory_tier(n.system, {node_id{1}, 1 << 20, "/tmp/x", 0});
  EXPECT_EQ(no_budget.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MemoryTier, OverLoopbackBetweenTwoActorSystems) {
  storage::test::temp_dir dir;
  node server(/*network=*/true);
  caf::actor tier = server.spawn_tier(small_tier(dir, 2));
  const uint16_t port = server.publish(tier);
  ASSERT_NE(port, 0);
  node client(true);
  caf::actor proxy = client.connect(port);
  ASSERT_TRUE(proxy);
  auto store = client.store(proxy, "memory node 2");
  ASSERT_NE(store, nullptr);
  exercise(client, proxy, *store);
  store.reset();  // its scoped actor goes before the client system
}

TEST(MemoryTier, SpreadOverTwoRemoteTiersWhenOneIsTooSmall) {
  storage::test::temp_dir dir;
  node server(true);
  memory_tier_options ram_only{node_id{1}, 4 * block_bytes(), "", 0};
  caf::actor a = server.spawn_tier(ram_only);
  ram_only.node = node_id{2};
  caf::actor b = server.spawn_tier(ram_only);
  const uint16_t port_a = server.publish(a), port_b = server.publish(b);
  node client(true);
  std::vector<std::unique_ptr<storage::block_store>> children;
  children.push_back(client.store(client.connect(port_a), "memory node 1"));
  children.push_back(client.store(client.connect(port_b), "memory node 2"));
  ASSERT_NE(children[0], nullptr);
  ASSERT_NE(children[1], nullptr);
  auto spread = std::make_unique<spread_block_store>(std::move(children));
  EXPECT_TRUE(spread->is_remote());
  std::vector<std::string> values;
  for (uint32_t blk = 0; blk < 7; ++blk) {  // one sequence, more than one node holds
    values.push_back(random_block(100 + blk));
    ASSERT_EQ(spread->put(key_of(3, blk), values.back()).outcome, put_outcome::stored) << blk;
  }
  const auto usage = spread->node_usage();
  ASSERT_EQ(usage.size(), 2u);
  EXPECT_GT(usage[0].bytes_used, 0u);
  EXPECT_GT(usage[1].bytes_used, 0u);
  EXPECT_EQ(usage[0].bytes_used + usage[1].bytes_used, 7 * block_bytes());
  EXPECT_EQ(client.usage(client.connect(port_a)).host_bytes_used +
                client.usage(client.connect(port_b)).host_bytes_used,
            7 * block_bytes());
  for (uint32_t blk = 0; blk < 7; ++blk) EXPECT_EQ(read(*spread, key_of(3, blk)), values[blk]);
  const std::vector<int32_t> offsets = {2, 60};
  std::string buffer;
  auto rows = spread->get_rows(key_of(3, 6), offsets, buffer);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(std::string(*rows), slice(values[6], offsets));
  // A batch over both nodes (one kv_fetch_batch each) answers like single fetches, in order,
  // with a miss in the middle.
  const std::vector<int32_t> all = {};
  std::vector<storage::row_request> batch = {{key_of(3, 0), offsets}, {key_of(3, 1), offsets},
                                             {key_of(9, 9), offsets}, {key_of(3, 5), all}};
  auto answers = spread->get_rows_batch(batch);
  ASSERT_EQ(answers.size(), 4u);
  ASSERT_TRUE(answers[0].ok()) << answers[0].status();
  EXPECT_EQ(*answers[0], slice(values[0], offsets));
  ASSERT_TRUE(answers[1].ok()) << answers[1].status();
  EXPECT_EQ(*answers[1], slice(values[1], offsets));
  EXPECT_EQ(answers[2].status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(answers[3].ok()) << answers[3].status();
  EXPECT_EQ(*answers[3], values[5]);
  EXPECT_EQ(spread->put(key_of(4, 0), random_block(1)).outcome, put_outcome::stored);
  EXPECT_EQ(spread->put(key_of(4, 1), random_block(2)).outcome, put_outcome::full);
  ASSERT_TRUE(spread->erase_sequence(3).ok());
  EXPECT_EQ(spread->num_values(), 1u);
  EXPECT_EQ(spread->bytes_used(), block_bytes());
  spread.reset();
}

// A lost node: its keys become misses, the other node keeps serving, placement skips it.
TEST(MemoryTier, SpreadDropsALostTierAndItsKeysBecomeMisses) {
  node n(false);
  memory_tier_options ram_only{node_id{1}, 2 * block_bytes(), "", 0};
  caf::actor a = n.spawn_tier(ram_only);
  caf::actor b = n.spawn_tier(ram_only);
  std::vector<std::unique_ptr<storage::block_store>> children;
  children.push_back(n.store(a, "memory node 1"));
  children.push_back(n.store(b, "memory node 2"));
  spread_block_store spread(std::move(children));
  for (uint32_t blk = 0; blk < 4; ++blk)
    ASSERT_EQ(spread.put(key_of(1, blk), random_block(blk)).outcome, put_outcome::stored);
  caf::anon_send_exit(a, caf::exit_reason::kill);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::string buffer;
  int misses = 0;
  for (uint32_t blk = 0; blk < 4; ++blk) {
    auto value = spread.get(key_of(1, blk), buffer);
    if (!value.ok()) {
      EXPECT_EQ(value.status().code(), absl::StatusCode::kNotFound) << value.status();
      ++misses;
    }
  }
  EXPECT_EQ(misses, 2);
  EXPECT_EQ(spread.num_live_stores(), 1u);
  EXPECT_EQ(spread.num_values(), 2u);
  EXPECT_FALSE(spread.node_usage()[0].alive);
  // A node that joins later takes the puts the surviving one has no room for.
  EXPECT_EQ(spread.put(key_of(2, 0), random_block(9)).outcome, put_outcome::full);
  spread.add_store(n.store(n.spawn_tier(ram_only), "memory node 3"));
  EXPECT_EQ(spread.put(key_of(2, 0), random_block(9)).outcome, put_outcome::stored);
  EXPECT_EQ(spread.node_usage()[2].bytes_used, block_bytes());
}

// The tier exits: the next get fails fast (well under the 10 s timeout), a put is failed, and
// the store stays dead without sending again.
void expect_fails_fast(node& client, const caf::actor& tier, caf::actor to_kill) {
  auto store = client.store(tier, "memory node 9");
  ASSERT_NE(store, nullptr);
  ASSERT_EQ(store->put(key_of(1, 0), random_block(1)).outcome, put_outcome::stored);
  caf::anon_send_exit(to_kill, caf::exit_reason::kill);
  const auto t0 = clock_type::now();
  std::string buffer;
  auto value = store->get(key_of(1, 0), buffer);
  const auto t1 = clock_type::now();
  EXPECT_FALSE(value.ok());
  EXPECT_EQ(value.status().code(), absl::StatusCode::kUnavailable) << value.status();
  EXPECT_LT(t1 - t0, std::chrono::seconds(2));
  const auto put = store->put(key_of(1, 1), random_block(2));
  EXPECT_EQ(put.outcome, put_outcome::failed);
  EXPECT_LT(clock_type::now() - t1, std::chrono::milliseconds(500));
  EXPECT_FALSE(store->alive());
  EXPECT_FALSE(put.error.ok());
}

TEST(MemoryTier, KilledTierFailsFastInOneSystem) {
  node n(false);
  caf::actor tier = n.spawn_tier({node_id{9}, 1 << 20, "", 0});
  expect_fails_fast(n, tier, tier);
}

TEST(MemoryTier, KilledTierFailsFastOverLoopback) {
  node server(true);
  caf::actor tier = server.spawn_tier({node_id{9}, 1 << 20, "", 0});
  const uint16_t port = server.publish(tier);
  node client(true);
  caf::actor proxy = client.connect(port);
  ASSERT_TRUE(proxy);
  expect_fails_fast(client, proxy, tier);
}

// A tier that never answers (a stand-in for a hung node): one timeout, then fail-fast.
TEST(MemoryTier, SilentTierCostsOneTimeoutThenFailsFast) {
  node n(false);
  caf::actor silent = n.system.spawn([](caf::event_based_actor* self) -> caf::behavior {
    return {[](const tier_usage_request&) { return tier_usage{}; },
            [self](const kv_fetch&) { return self->make_response_promise(); }};
  });
  n.tiers.push_back(silent);  // stopped with the node even when an assertion returns early
  auto store = n.store(silent, "silent", std::chrono::milliseconds(200));
  ASSERT_NE(store, nullptr);
  std::string buffer;
  const auto t0 = clock_type::now();
  EXPECT_EQ(store->get(key_of(1, 0), buffer).status().code(), absl::StatusCode::kUnavailable);
  const auto t1 = clock_type::now();
  EXPECT_GE(t1 - t0, std::chrono::milliseconds(150));
  EXPECT_EQ(store->get(key_of(1, 0), buffer).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(clock_type::now() - t1, std::chrono::milliseconds(50));
}

TEST(RemoteTierBench, FetchesOneMiBOverLoopback) {
  auto r = run_remote_tier_bench({size_t{1} << 20, 20, true});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->repetitions, 20);
  EXPECT_GT(r->payload_bytes, size_t{1} << 20);
  EXPECT_GT(r->median_gib_per_s, 0.0);
  std::printf("[ tier ] 1 MiB fetch over loopback: median %.3f GiB/s (%.2f ms), best %.3f GiB/s\n",
              r->median_gib_per_s, r->median_ms, r->best_gib_per_s);
}

}  // namespace
}  // namespace alisa::actors
