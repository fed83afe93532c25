// The peer-link protocol between workers in two actor systems over loopback ("two nodes"): the
// coordinator pairs its workers, they agree on a transport (CAF here: CPU backends keep host
// memory, so NCCL is not offered, and the reason says so), bytes of backend memory move with the
// same checksum on both ends, and bad requests get errors that say what is wrong.
#include "actors/peer_link_setup.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <condition_variable>
#include <mutex>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include "actors/coordinator.hpp"
#include "actors/gpu_worker.hpp"
#include "actors/runtime_atoms.hpp"
#include "gpu/backend.hpp"
#include "proto/caf_messages.hpp"
#include "tests/support/stories_engine.hpp"

namespace alisa::actors {
namespace {

using namespace std::chrono_literals;

struct net_config : caf::actor_system_config {
  net_config() {
    register_message_types(*this);
    load<caf::io::middleman>();
    set("logger.console", caf::atom("none"));
  }
};

// A worker without a model: a CPU backend and the peer-link handlers, as gpu_worker has them.
struct endpoint_state {
  std::unique_ptr<gpu::backend> backend;
  peer_links links;  // declared after the backend: its links go first
  static inline const char* name = "test.peer_endpoint";
};

caf::behavior peer_endpoint(caf::stateful_actor<endpoint_state>* self, std::string who) {
  self->state.backend = gpu::make_backend(gpu::backend_kind::cpu, 1);
  self->state.links.backend = self->state.backend.get();
  self->state.links.who = std::move(who);
  self->set_default_handler(caf::drop);
  // What the coordinator tells every worker that joins. Handled, not dropped: caf::drop answers
  // with an unexpected_message error, which would kill the coordinator that sent it.
  caf::message_handler memory_nodes{[](memory_nodes_atom, const std::vector<caf::actor>&, const std::vector<std::string>&) {}};
  return memory_nodes.or_else(peer_link_handlers(self, &self->state.links));
}

uint32_t workers_alive(caf::actor_system& sys, const caf::actor& coordinator) {
  caf::scoped_actor self{sys};
  uint32_t workers = 0;
  self->request(coordinator, 5s, status_atom::value)
      .receive([&](uint32_t w, uint32_t, uint32_t, uint32_t, uint64_t, uint64_t) { workers = w; },
               [&](caf::error& err) { ADD_FAILURE() << sys.render(err); });
  return workers;
}

// Node A runs the coordinator and worker "a"; node B reaches the coordinator over TCP and its
// worker "b" joins from there, so offers, mailboxes and chunks cross the network.
class two_node_cluster : public ::testing::Test {
 protected:
  void SetUp() override {
    coordinator_options o;
    o.context_length = 512;
    o.vocab_size = 512;
    coordinator_ = node_a_->spawn(actors::coordinator, std::vector<caf::actor>{}, o);
    auto port = node_a_->middleman().publish(coordinator_, 0, "127.0.0.1");
    ASSERT_TRUE(port) << node_a_->render(port.error());
    auto remote = node_b_->middleman().remote_actor("127.0.0.1", *port);
    ASSERT_TRUE(remote) << node_b_->render(remote.error());
    coordinator_from_b_ = *remote;
  }

  // Has `worker` join `coordinator` (the handle on the worker's node) under `endpoint`; waits
  // until the coordinator counts it.
  void join(const caf::actor& coordinator, caf::actor worker, const std::string& endpoint) {
    const uint32_t before = workers_alive(*node_a_, coordinator_);
    caf::send_as(worker, coordinator, node_hello{node_id{before + 1}, "worker", endpoint});
    for (int i = 0; i < 100 && workers_alive(*node_a_, coordinator_) == before; ++i)
      std::this_thread::sleep_for(20ms);
    EXPECT_EQ(workers_alive(*node_a_, coordinator_), before + 1) << endpoint << " did not join";
    own_.push_back(worker);
  }
  void join_endpoints() {
    join(coordinator_, node_a_->spawn<caf::detached>(peer_endpoint, "a"), "node-a:1");
    join(coordinator_from_b_, node_b_->spawn<caf::detached>(peer_endpoint, "b"), "node-b:1");
  }

  // The coordinator's answer to `request`, or the error text.
  std::optional<peer_link_bench_result> bench(const peer_link_bench& request, std::string& error) {
    caf::scoped_actor self{*node_b_};  // a client on the far node, as `alisa bench` is
    std::optional<peer_link_bench_result> out;
    self->request(coordinator_from_b_, 120s, request)
        .receive([&](peer_link_bench_result& r) { out = std::move(r); },
                 [&](caf::error& err) { error = peer_link_error_text(*node_b_, err); });
    return out;
  }

  void TearDown() override {
    for (const auto& a : own_) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    if (coordinator_) {
      node_a_->middleman().unpublish(coordinator_, 0);
      caf::anon_send_exit(coordinator_, caf::exit_reason::user_shutdown);
    }
    coordinator_from_b_ = nullptr;
    coordinator_ = nullptr;
    own_.clear();
    shut_down_nodes();
  }

  // CAF 0.17 can hang for good in ~actor_system with detached actors that crossed the network
  // (actor-framework#1196, fixed in 0.18): seen twice in several hundred runs, always after the
  // test body had passed. A watchdog ends the process with the test's result if shutting the
  // nodes down takes over 60 s, instead of hanging until ctest's timeout.
  void shut_down_nodes() {
    struct watchdog {
      std::mutex m;
      std::condition_variable cv;
      bool done = false;
    };
    auto w = std::make_shared<watchdog>();
    const bool failed = HasFailure();
    std::thread([w, failed] {
      std::unique_lock lock(w->m);
      if (w->cv.wait_for(lock, 60s, [&] { return w->done; })) return;
      std::fprintf(stderr, "two_node_cluster: actor systems still shutting down after 60 s (CAF "
                           "0.17 detached-actor shutdown hang, actor-framework#1196); the test "
                           "body %s\n", failed ? "failed" : "passed");
      std::fflush(stderr);
      std::_Exit(failed ? 1 : 0);
    }).detach();
    node_b_.reset();
    node_a_.reset();
    std::lock_guard lock(w->m);
    w->done = true;
    w->cv.notify_one();
  }

  net_config cfg_a_, cfg_b_;
  std::unique_ptr<caf::actor_system> node_a_ = std::make_unique<caf::actor_system>(cfg_a_);
  std::unique_ptr<caf::actor_system> node_b_ = std::make_unique<caf::actor_system>(cfg_b_);
  caf::actor coordinator_, coordinator_from_b_;
  std::vector<caf::actor> own_;
};

TEST_F(two_node_cluster, the_coordinator_pairs_two_workers_over_caf_and_the_bytes_arrive) {
  join_endpoints();
  std::string error;
  const uint64_t bytes = (uint64_t{5} << 20) + 3;  // two chunks and a ragged end
  auto r = bench({bytes, 3, "auto", {}}, error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->transport, "caf");
  EXPECT_NE(r->reason.find("rank 0 cannot use NCCL"), std::string::npos) << r->reason;
  EXPECT_EQ(r->sender, "node-a:1");
  EXPECT_EQ(r->receiver, "node-b:1");
  EXPECT_EQ(r->bytes, bytes);
  ASSERT_EQ(r->seconds.size(), 3u);
  for (double s : r->seconds) EXPECT_GT(s, 0.0);
  // Every round moved a fresh pattern (the driver compared both ends' checksums already).
  EXPECT_EQ(std::set<uint64_t>(r->checksums.begin(), r->checksums.end()).size(), 3u);
}

TEST_F(two_node_cluster, named_workers_pick_the_direction) {
  join_endpoints();
  std::string error;
  auto r = bench({4096, 1, "caf", {"node-b:1", "node-a:1"}}, error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->sender, "node-b:1");
  EXPECT_EQ(r->receiver, "node-a:1");
  EXPECT_EQ(r->reason, "the CAF transport was asked for");
  // The link was closed: the same pair can link again (a fresh id).
  r = bench({4096, 1, "caf", {"node-b:1", "node-a:1"}}, error);
  EXPECT_TRUE(r) << error;
}

TEST_F(two_node_cluster, bad_requests_say_what_is_wrong) {
  std::string error;
  EXPECT_FALSE(bench({4096, 1, "auto", {}}, error));
  EXPECT_NE(error.find("needs two workers; the coordinator has 0"), std::string::npos) << error;
  join_endpoints();
  EXPECT_FALSE(bench({4096, 1, "nccl", {}}, error));
  EXPECT_NE(error.find("NCCL was asked for"), std::string::npos) << error;
  EXPECT_NE(error.find("host"), std::string::npos) << "the reason names the host memory: " << error;
  EXPECT_FALSE(bench({4096, 1, "auto", {"node-a:1", "node-c:1"}}, error));
  EXPECT_NE(error.find("no worker joined as node-c:1 (workers: node-a:1, node-b:1)"),
            std::string::npos)
      << error;
  EXPECT_FALSE(bench({0, 1, "auto", {}}, error));
  EXPECT_NE(error.find("bytes > 0"), std::string::npos) << error;
  // Still usable after all that.
  EXPECT_TRUE(bench({4096, 2, "auto", {}}, error)) << error;
}

// Driving the workers directly with a known seed: the receiver's checksums are those of the
// pattern the test computes itself, not only equal to the sender's.
TEST_F(two_node_cluster, the_receiver_reads_back_exactly_the_senders_pattern) {
  auto a = node_a_->spawn<caf::detached>(peer_endpoint, "a");
  auto b = node_b_->spawn<caf::detached>(peer_endpoint, "b");
  own_ = {a, b};
  auto port = node_b_->middleman().publish(b, 0, "127.0.0.1");
  ASSERT_TRUE(port) << node_b_->render(port.error());
  auto b_from_a = node_a_->middleman().remote_actor("127.0.0.1", *port);
  ASSERT_TRUE(b_from_a) << node_a_->render(b_from_a.error());
  caf::scoped_actor self{*node_a_};
  std::string error;
  self->request(a, 30s, peer_link_atom::value, uint64_t{42}, *b_from_a, std::string("auto"))
      .receive([&](peer_link_answer& answer) { EXPECT_EQ(answer.transport, "caf"); },
               [&](caf::error& err) { error = peer_link_error_text(*node_a_, err); });
  ASSERT_TRUE(error.empty()) << error;
  const uint64_t bytes = (uint64_t{1} << 20) + 7, seed = 1234;
  const uint32_t rounds = 2;
  auto receiving = self->request(*b_from_a, 60s, peer_transfer{42, false, bytes, rounds, seed});
  auto sending = self->request(a, 60s, peer_transfer{42, true, bytes, rounds, seed});
  std::vector<uint64_t> expected;
  for (uint32_t r = 1; r <= rounds; ++r) {  // round 0 is the untimed warm-up
    std::vector<std::byte> pattern(bytes);
    fill_peer_pattern(pattern, seed, r);
    expected.push_back(peer_checksum(pattern));
  }
  for (auto* handle : {&receiving, &sending})
    handle->receive(
        [&](peer_transfer_report& report) {
          EXPECT_EQ(report.transport, "caf");
          EXPECT_EQ(report.checksums, expected);
        },
        [&](caf::error& err) { ADD_FAILURE() << peer_link_error_text(*node_a_, err); });
  caf::anon_send(a, peer_close_atom::value, uint64_t{42});
  caf::anon_send(*b_from_a, peer_close_atom::value, uint64_t{42});
  self->request(a, 30s, peer_transfer{42, true, 8, 1, 0})
      .receive([&](peer_transfer_report&) { ADD_FAILURE() << "a closed link still sends"; },
               [&](caf::error& err) {
                 EXPECT_NE(peer_link_error_text(*node_a_, err).find("no link 42"),
                           std::string::npos);
               });
  node_b_->middleman().unpublish(b, *port);
}

// The real worker actor answers the protocol (its step handlers and the peer-link handlers are
// one behavior).
TEST_F(two_node_cluster, gpu_workers_link_through_the_coordinator) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  auto engine_a = testing::open_stories_engine();
  auto engine_b = testing::open_stories_engine();
  ASSERT_TRUE(engine_a && engine_b);
  join(coordinator_, node_a_->spawn<caf::detached>(gpu_worker, engine_a.get(), memory_dialer{}), "node-a:2");
  join(coordinator_from_b_, node_b_->spawn<caf::detached>(gpu_worker, engine_b.get(), memory_dialer{}), "node-b:2");
  std::string error;
  auto r = bench({uint64_t{2} << 20, 2, "auto", {}}, error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->transport, "caf");
  EXPECT_EQ(r->seconds.size(), 2u);
  TearDown();  // the workers exit before their engines are destroyed
}

TEST(peer_pattern, differs_by_round_and_seed_and_the_checksum_sees_moved_bytes) {
  std::vector<std::byte> a(1001), b(1001);
  fill_peer_pattern(a, 1, 1);
  fill_peer_pattern(b, 1, 2);
  EXPECT_NE(peer_checksum(a), peer_checksum(b));
  fill_peer_pattern(b, 2, 1);
  EXPECT_NE(peer_checksum(a), peer_checksum(b));
  b = a;
  EXPECT_EQ(peer_checksum(a), peer_checksum(b));
  std::swap(b[0], b[8]);  // same bytes, other places
  EXPECT_NE(peer_checksum(a), peer_checksum(b));
  b = a;
  b[1000] ^= std::byte{1};  // the ragged tail counts too
  EXPECT_NE(peer_checksum(a), peer_checksum(b));
}

}  // namespace
}  // namespace alisa::actors
