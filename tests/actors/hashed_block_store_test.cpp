// hashed_block_store: every worker finds a key on the same memory node, whatever order it learnt
// the nodes in; a dead node's keys are misses, never served from elsewhere.
#include "actors/hashed_block_store.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "storage/ram_store.hpp"

namespace alisa::actors {
namespace {

using storage::block_key;

block_key prefix_key(uint32_t i) { return {0x9e3779b97f4a7c15ull * (i + 1), 3, kv_part::prefix, i}; }

// A store that answers Unavailable to everything, as a remote store of a dead node does.
class dead_store final : public storage::block_store {
 public:
  std::string_view name() const override { return "dead"; }
  uint64_t budget_bytes() const override { return 1 << 20; }
  uint64_t bytes_used() const override { return 0; }
  size_t num_values() const override { return 0; }
  storage::put_result put(const block_key&, std::string_view) override {
    return {storage::put_outcome::failed, absl::UnavailableError("gone")};
  }
  absl::StatusOr<std::string_view> get(const block_key&, std::string&) override {
    return absl::UnavailableError("gone");
  }
  absl::Status erase(const block_key&) override { return absl::UnavailableError("gone"); }
  absl::Status erase_sequence(uint64_t) override { return absl::UnavailableError("gone"); }
};

TEST(HashedBlockStore, TwoWorkersWithNodesInAnyOrderAgreeWhereEveryKeyLives) {
  const std::vector<std::string> labels = {"10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000"};
  hashed_block_store first, second;
  std::vector<storage::block_store*> first_stores, second_stores;
  for (size_t i = 0; i < labels.size(); ++i) {
    auto a = storage::make_ram_store(1 << 20);
    auto b = storage::make_ram_store(1 << 20);
    first_stores.push_back(a.get());
    second_stores.push_back(b.get());
    first.add_store(labels[i], std::move(a));
    second.add_store(labels[labels.size() - 1 - i], std::move(b));  // learnt in reverse
  }
  for (uint32_t k = 0; k < 60; ++k) {
    ASSERT_EQ(first.put(prefix_key(k), "v" + std::to_string(k)).outcome, storage::put_outcome::stored);
    ASSERT_EQ(second.put(prefix_key(k), "v" + std::to_string(k)).outcome, storage::put_outcome::stored);
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    // first_stores[i] is labels[i]; in `second` that label is store size-1-i.
    EXPECT_EQ(first_stores[i]->num_values(), second_stores[labels.size() - 1 - i]->num_values());
    EXPECT_GT(first_stores[i]->num_values(), 5u) << "keys spread over every node";
  }
  std::string buffer;
  auto got = second.get(prefix_key(7), buffer);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "v7");
}

TEST(HashedBlockStore, ADeadNodesKeysAreMissesAndStayThere) {
  hashed_block_store store;
  store.add_store("a:1", storage::make_ram_store(1 << 20));
  store.add_store("b:1", std::make_unique<dead_store>());
  int stored = 0, failed = 0;
  for (uint32_t k = 0; k < 40; ++k) {
    const auto r = store.put(prefix_key(k), "v");
    (r.outcome == storage::put_outcome::stored ? stored : failed)++;
  }
  EXPECT_GT(stored, 0);
  EXPECT_GT(failed, 0) << "keys of the dead node are not placed elsewhere";
  std::string buffer;
  for (uint32_t k = 0; k < 40; ++k) {
    auto got = store.get(prefix_key(k), buffer);
    EXPECT_TRUE(got.ok() || absl::IsNotFound(got.status())) << got.status();
  }
  EXPECT_EQ(store.budget_bytes(), uint64_t{1} << 20) << "only the live node counts";
}

}  // namespace
}  // namespace alisa::actors
