// The CAF transport of gpu::peer_link between two actor systems over loopback TCP: bytes arrive
// exactly (odd sizes, several chunks, empty transfers, both directions at once), and a peer that
// never sends or goes away fails the receiver with a message instead of hanging it.
#include "actors/caf_peer_link.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <future>
#include <memory>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "gpu/backend.hpp"
#include "proto/caf_messages.hpp"

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

std::vector<std::byte> random_bytes(size_t n, uint64_t seed) {
  std::vector<std::byte> out(n);
  std::mt19937_64 rng{seed};
  for (auto& b : out) b = static_cast<std::byte>(rng());
  return out;
}

// Two actor systems ("nodes"), a CPU backend each, and one link end in each whose mailboxes
// reach each other through the middleman (each published by its node, reached by the other).
class two_nodes : public ::testing::Test {
 protected:
  void make_link(caf_peer_link_options options) {
    left_ = std::make_unique<caf_peer_link>(*node_a_, *backend_a_, 7, 0, 2, options);
    right_ = std::make_unique<caf_peer_link>(*node_b_, *backend_b_, 7, 1, 2, options);
    auto port_left = node_a_->middleman().publish(left_->mailbox(), 0, "127.0.0.1");
    ASSERT_TRUE(port_left) << node_a_->render(port_left.error());
    auto port_right = node_b_->middleman().publish(right_->mailbox(), 0, "127.0.0.1");
    ASSERT_TRUE(port_right) << node_b_->render(port_right.error());
    auto left_from_b = node_b_->middleman().remote_actor("127.0.0.1", *port_left);
    ASSERT_TRUE(left_from_b) << node_b_->render(left_from_b.error());
    auto right_from_a = node_a_->middleman().remote_actor("127.0.0.1", *port_right);
    ASSERT_TRUE(right_from_a) << node_a_->render(right_from_a.error());
    left_->connect(1, *right_from_a);
    right_->connect(0, *left_from_b);
  }

  void TearDown() override {
    left_.reset();   // the links' scoped actors before their systems
    right_.reset();
    node_b_.reset();
    node_a_.reset();
  }

  // Backend memory holding `bytes` (CPU backend: host memory, filled through upload()).
  void* in_backend(gpu::backend& b, const std::vector<std::byte>& bytes) {
    void* p = b.allocate(std::max<size_t>(1, bytes.size()));
    if (!bytes.empty()) b.upload(p, bytes.data(), bytes.size());
    return p;
  }
  std::vector<std::byte> read_back(gpu::backend& b, const void* p, size_t n) {
    std::vector<std::byte> out(n);
    if (n > 0) b.download(out.data(), p, n);
    return out;
  }

  net_config cfg_a_, cfg_b_;
  std::unique_ptr<caf::actor_system> node_a_ = std::make_unique<caf::actor_system>(cfg_a_);
  std::unique_ptr<caf::actor_system> node_b_ = std::make_unique<caf::actor_system>(cfg_b_);
  std::unique_ptr<gpu::backend> backend_a_ = gpu::make_backend(gpu::backend_kind::cpu, 1);
  std::unique_ptr<gpu::backend> backend_b_ = gpu::make_backend(gpu::backend_kind::cpu, 1);
  std::unique_ptr<caf_peer_link> left_, right_;
};

TEST_F(two_nodes, bytes_arrive_exactly_in_one_or_many_chunks) {
  caf_peer_link_options o;
  o.chunk_bytes = 64 * 1024 + 3;  // odd, so pieces never line up with words
  o.window = 3;
  o.timeout = 20s;
  make_link(o);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(left_->name(), "caf");
  // Empty, one byte, one chunk exactly, many chunks with a ragged end, a few MiB.
  for (size_t n : {size_t{0}, size_t{1}, o.chunk_bytes, 7 * o.chunk_bytes + 17,
                   (size_t{3} << 20) + 5}) {
    const auto data = random_bytes(n, n + 1);
    void* src = in_backend(*backend_a_, data);
    void* dst = in_backend(*backend_b_, std::vector<std::byte>(n));
    auto sent = std::async(std::launch::async, [&] { left_->send(src, n, 1); });
    right_->recv(dst, n, 0);
    sent.get();
    EXPECT_TRUE(read_back(*backend_b_, dst, n) == data) << n << " bytes did not arrive intact";
    backend_a_->release(src);
    backend_b_->release(dst);
  }
}

TEST_F(two_nodes, exchange_swaps_both_ways) {
  make_link({});
  ASSERT_FALSE(HasFatalFailure());
  const size_t n = (size_t{9} << 20) + 1;  // three default chunks, ragged end
  const auto a_data = random_bytes(n, 1), b_data = random_bytes(n, 2);
  void* a_src = in_backend(*backend_a_, a_data);
  void* a_dst = in_backend(*backend_a_, std::vector<std::byte>(n));
  void* b_src = in_backend(*backend_b_, b_data);
  void* b_dst = in_backend(*backend_b_, std::vector<std::byte>(n));
  auto left_done = std::async(std::launch::async, [&] { left_->exchange(a_src, a_dst, n, 1); });
  right_->exchange(b_src, b_dst, n, 0);
  left_done.get();
  EXPECT_TRUE(read_back(*backend_a_, a_dst, n) == b_data);
  EXPECT_TRUE(read_back(*backend_b_, b_dst, n) == a_data);
  for (void* p : {a_src, a_dst}) backend_a_->release(p);
  for (void* p : {b_src, b_dst}) backend_b_->release(p);
}

TEST_F(two_nodes, a_peer_that_never_sends_times_out_with_a_reason) {
  caf_peer_link_options o;
  o.timeout = 300ms;
  make_link(o);
  ASSERT_FALSE(HasFatalFailure());
  std::vector<std::byte> dst(1024);
  try {
    right_->recv(dst.data(), dst.size(), 0);
    ADD_FAILURE() << "recv returned without data";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no data from rank 0"), std::string::npos) << e.what();
  }
  // A link that threw is out of step: it refuses further use.
  EXPECT_THROW(right_->recv(dst.data(), dst.size(), 0), std::runtime_error);
}

TEST_F(two_nodes, a_peer_that_goes_away_fails_the_receiver_at_once) {
  caf_peer_link_options o;
  o.timeout = 60s;  // far longer than the test may take: the down message must end the wait
  make_link(o);
  ASSERT_FALSE(HasFatalFailure());
  std::vector<std::byte> dst(1024);
  auto drop_left = std::async(std::launch::async, [&] {
    std::this_thread::sleep_for(200ms);
    left_.reset();
  });
  const auto t0 = std::chrono::steady_clock::now();
  try {
    right_->recv(dst.data(), dst.size(), 0);
    ADD_FAILURE() << "recv returned without data";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("went away"), std::string::npos) << e.what();
  }
  drop_left.get();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 20s);
}

TEST(caf_peer_link, rejects_bad_ranks_and_unconnected_peers) {
  net_config cfg;
  caf::actor_system sys{cfg};
  auto backend = gpu::make_backend(gpu::backend_kind::cpu, 1);
  EXPECT_THROW(caf_peer_link(sys, *backend, 1, 2, 2), std::invalid_argument);
  caf_peer_link link(sys, *backend, 1, 0, 2);
  std::vector<std::byte> buf(8);
  EXPECT_THROW(link.send(buf.data(), buf.size(), 0), std::invalid_argument);  // itself
  EXPECT_THROW(link.send(buf.data(), buf.size(), 1), std::logic_error);       // not connected
  EXPECT_THROW(link.exchange(buf.data(), buf.data(), buf.size(), 0), std::invalid_argument);
}

}  // namespace
}  // namespace alisa::actors
