// The prefix cache's shared level through a real memory_tier actor: one engine (a "worker")
// publishes a document's blocks; another engine, with an empty cache, answers a second question
// with them, and gives exactly its cold tokens for every attention policy. This is the path a
// cluster's workers use (actors/hashed_block_store.hpp over remote_block_stores), here in one
// actor system; tests/cluster/cluster_test.cpp runs it across processes.
#include <gtest/gtest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>

#include <memory>
#include <string>

#include "actors/hashed_block_store.hpp"
#include "actors/memory_tier.hpp"
#include "actors/remote_block_store.hpp"
#include "engine/prefix_cache.hpp"
#include "proto/caf_messages.hpp"
#include "tests/engine/prefix_jobs.hpp"
#include "tests/support/shared_models.hpp"

namespace alisa::actors {
namespace {

using engine::prefix_tier;

struct memory_node {
  struct config : caf::actor_system_config {
    config() {
      set("scheduler.max-threads", 2);
      register_message_types(*this);
    }
  } cfg;
  caf::actor_system system{cfg};
  caf::actor tier;

  memory_node() {
    auto t = spawn_memory_tier(system, {node_id{1}, uint64_t{256} << 20});
    EXPECT_TRUE(t.ok()) << t.status();
    if (t.ok()) tier = *t;
  }
  ~memory_node() { caf::anon_send_exit(tier, caf::exit_reason::user_shutdown); }

  // Gives `e`'s prefix cache a shared level on this node, as a worker does when it joins.
  void attach(engine::local_engine& e) {
    auto store = connect_remote_block_store(system, tier, {"memory node 1"});
    ASSERT_TRUE(store.ok()) << store.status();
    auto hashed = std::make_unique<hashed_block_store>();
    hashed->add_store("127.0.0.1:7701", std::move(*store));
    e.prefixes()->add_level(std::make_unique<engine::prefix_store_level>(
        prefix_tier::memory_node, std::move(hashed), /*owned=*/false));
  }
};

void expect_second_worker_reuses(engine::engine_options o, bool reuses) {
  auto cold = engine::open_engine(o);
  o.prefix_cache_budget = 64 << 20;
  auto first = engine::open_engine(o);
  auto second = engine::open_engine(o);
  ASSERT_TRUE(cold && first && second);
  {
    memory_node node;  // before the engines' levels: they hold its scoped actors
    node.attach(*first);
    node.attach(*second);
    const int vocab = cold->config().vocab_size;
    const auto document = engine::tokens(300, 1, vocab);
    engine::ask(*first, 1, engine::concat(document, engine::tokens(12, 2, vocab)), 24);
    const auto question = engine::concat(document, engine::tokens(9, 3, vocab));
    const engine::answer warm = engine::ask(*second, 2, question, 40);
    EXPECT_EQ(warm.tokens, engine::ask(*cold, 2, question, 40).tokens);
    const auto& hits = second->prefixes()->stats().hit_tokens_by_tier;
    if (reuses) {
      EXPECT_GE(warm.cached_tokens, 192);
      EXPECT_EQ(hits[static_cast<size_t>(prefix_tier::memory_node)],
                static_cast<uint64_t>(warm.cached_tokens))
          << "the second engine's RAM was empty: every cached token came from the memory node";
    } else {
      EXPECT_EQ(warm.cached_tokens, 0);
    }
    first.reset();  // their remote stores go before the actor system
    second.reset();
  }
}

TEST(PrefixMemoryNode, ASecondWorkerReusesTheFirstOnesPrefixForEveryPolicy) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  using scheduler::attention_policy;
  for (auto policy : {attention_policy::dense, attention_policy::swa, attention_policy::streaming,
                      attention_policy::local, attention_policy::h2o}) {
    SCOPED_TRACE(std::string(scheduler::to_string(policy)));
    expect_second_worker_reuses(engine::with_policy(policy), policy != attention_policy::h2o);
  }
}

TEST(PrefixMemoryNode, ASecondWorkerReusesTheFirstOnesPrefixOnAGqaModelWithTieredKv) {
  expect_second_worker_reuses(engine::gqa_tiered_swa(), true);
}

}  // namespace
}  // namespace alisa::actors
