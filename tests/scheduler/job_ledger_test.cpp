// The coordinator's job bookkeeping without CAF: least-loaded placement, a dead worker's jobs
// coming back unplaced, bounded restarts, and replays that forward only what the client lacks.
#include "scheduler/job_ledger.hpp"

#include <gtest/gtest.h>

namespace alisa::scheduler {
namespace {

std::vector<int32_t> ids(std::initializer_list<int32_t> v) { return v; }

TEST(job_ledger, places_on_the_least_loaded_alive_worker) {
  job_ledger ledger(2);
  EXPECT_EQ(ledger.least_loaded(), -1);  // no worker yet
  const int a = ledger.add_worker(), b = ledger.add_worker();
  for (uint64_t id = 1; id <= 3; ++id) {
    ledger.admit(id);
    ledger.place(id, ledger.least_loaded());
  }
  EXPECT_EQ(ledger.worker_of(1), a);
  EXPECT_EQ(ledger.worker_of(2), b);
  EXPECT_EQ(ledger.worker_of(3), a);  // tie broken by the lower index
  EXPECT_EQ(ledger.num_running(a), 2);
  ledger.remove(1);
  EXPECT_EQ(ledger.num_running(a), 1);
  EXPECT_EQ(ledger.worker_of(1), -1);
  EXPECT_FALSE(ledger.contains(1));
}

TEST(job_ledger, a_dead_workers_jobs_come_back_unplaced_and_it_takes_no_more) {
  job_ledger ledger(2);
  const int a = ledger.add_worker(), b = ledger.add_worker();
  for (uint64_t id = 1; id <= 4; ++id) {
    ledger.admit(id);
    ledger.place(id, id % 2 ? a : b);
  }
  const auto orphans = ledger.worker_down(a);
  EXPECT_EQ(orphans, (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(ledger.worker_of(1), -1);
  EXPECT_FALSE(ledger.alive(a));
  EXPECT_EQ(ledger.num_alive(), 1);
  EXPECT_EQ(ledger.least_loaded(), b);
  EXPECT_TRUE(ledger.worker_down(a).empty());  // already gone
  for (uint64_t id : orphans) EXPECT_TRUE(ledger.restart(id));
  EXPECT_EQ(ledger.total_restarts(), 2u);
  ledger.place(1, ledger.least_loaded());
  EXPECT_EQ(ledger.num_running(b), 3);
}

TEST(job_ledger, restarts_are_bounded) {
  job_ledger ledger(2);
  ledger.add_worker();
  ledger.admit(7);
  ledger.place(7, 0);
  EXPECT_TRUE(ledger.restart(7));
  EXPECT_EQ(ledger.num_running(0), 0);  // a restarted job leaves its worker
  EXPECT_TRUE(ledger.restart(7));
  EXPECT_FALSE(ledger.restart(7)) << "the third fault exceeds max_restarts = 2";
  EXPECT_EQ(ledger.total_restarts(), 2u);
  EXPECT_FALSE(ledger.restart(99)) << "an unknown job cannot restart";
}

TEST(job_ledger, a_replay_forwards_only_what_the_client_has_not_received) {
  job_ledger ledger(2);
  ledger.add_worker();
  ledger.admit(1);
  ledger.place(1, 0);
  auto first = ledger.on_chunk(1, ids({10, 11}), "Once upon");
  EXPECT_EQ(first.token_ids, ids({10, 11}));
  EXPECT_EQ(first.text, "Once upon");
  ASSERT_TRUE(ledger.restart(1));
  ledger.place(1, 0);
  // The replay repeats the first token and part of the text: nothing new yet.
  auto again = ledger.on_chunk(1, ids({10}), "Once");
  EXPECT_FALSE(again.diverged);
  EXPECT_TRUE(again.token_ids.empty());
  EXPECT_TRUE(again.text.empty());
  // Then it overtakes what the client has: only the new part goes out.
  auto beyond = ledger.on_chunk(1, ids({11, 12}), " upon a time");
  EXPECT_EQ(beyond.token_ids, ids({12}));
  EXPECT_EQ(beyond.text, " a time");
}

TEST(job_ledger, a_replay_that_diverges_is_reported) {
  job_ledger ledger(1);
  ledger.add_worker();
  ledger.admit(1);
  ledger.place(1, 0);
  ledger.on_chunk(1, ids({10, 11}), "ab");
  ASSERT_TRUE(ledger.restart(1));
  EXPECT_TRUE(ledger.on_chunk(1, ids({10, 99}), "ax").diverged);
  EXPECT_FALSE(ledger.on_chunk(42, ids({1}), "x").diverged) << "unknown jobs give nothing";
}

}  // namespace
}  // namespace alisa::scheduler
