#include "storage/read_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

namespace alisa::storage {
namespace {

// Every index runs exactly once per batch, batch after batch, on more than one thread when the
// tasks wait (reads blocked on a device).
TEST(ReadPool, EveryIndexRunsOnceAndWaitingTasksOverlap) {
  read_pool pool(3);
  for (size_t count : {0u, 1u, 2u, 7u, 100u}) {
    std::vector<std::atomic<int>> runs(count);
    pool.run(count, [&](size_t i) { runs[i].fetch_add(1); });
    for (size_t i = 0; i < count; ++i) EXPECT_EQ(runs[i].load(), 1) << count << " " << i;
  }
  std::atomic<int> running{0}, most{0};
  pool.run(8, [&](size_t) {
    const int now = running.fetch_add(1) + 1;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {}
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    running.fetch_sub(1);
  });
  EXPECT_GT(most.load(), 1);
}

TEST(ReadPool, WithoutHelperThreadsTheCallerRunsEverything) {
  read_pool pool(0);
  std::set<std::thread::id> threads;
  pool.run(5, [&](size_t) { threads.insert(std::this_thread::get_id()); });
  EXPECT_EQ(threads, std::set<std::thread::id>{std::this_thread::get_id()});
}

}  // namespace
}  // namespace alisa::storage
