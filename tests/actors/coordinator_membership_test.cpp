// The coordinator's membership in one process: nodes announce themselves with node_hello, the
// status reply counts them, and a node that goes down is forgotten.
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "actors/coordinator.hpp"
#include "actors/memory_tier.hpp"
#include "actors/runtime_atoms.hpp"
#include "proto/caf_messages.hpp"

namespace alisa::actors {
namespace {

using namespace std::chrono_literals;

struct counts {
  uint32_t workers = 0, memory = 0;
};

counts status_of(caf::actor_system& sys, const caf::actor& coordinator) {
  caf::scoped_actor self{sys};
  counts c;
  self->request(coordinator, 5s, status_atom::value)
      .receive([&](uint32_t w, uint32_t m, uint32_t, uint32_t, uint64_t, uint64_t) { c = {w, m}; },
               [&](caf::error& err) { ADD_FAILURE() << to_string(err); });
  return c;
}

TEST(coordinator_membership, memory_nodes_join_and_leave) {
  caf::actor_system_config cfg;
  register_message_types(cfg);
  caf::actor_system sys{cfg};
  coordinator_options o;
  o.context_length = 512;
  o.vocab_size = 512;
  auto coordinator = sys.spawn(actors::coordinator, std::vector<caf::actor>{}, o);
  memory_tier_options mo;
  mo.host_budget = 1 << 20;
  auto memory = spawn_memory_tier(sys, mo);
  ASSERT_TRUE(memory.ok()) << memory.status();
  caf::send_as(*memory, coordinator, node_hello{node_id{1}, "memory", "in-process"});
  counts c;
  for (int i = 0; i < 50 && c.memory == 0; ++i) {
    c = status_of(sys, coordinator);
    if (c.memory == 0) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(c.memory, 1u);
  EXPECT_EQ(c.workers, 0u);
  caf::anon_send_exit(*memory, caf::exit_reason::kill);
  for (int i = 0; i < 50 && c.memory == 1; ++i) {
    c = status_of(sys, coordinator);
    if (c.memory == 1) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(c.memory, 0u) << "a memory node that went down is still counted";
  caf::anon_send_exit(coordinator, caf::exit_reason::user_shutdown);
}

}  // namespace
}  // namespace alisa::actors
