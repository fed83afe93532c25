#include "scheduler/job_queue.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace alisa::scheduler {
namespace {

batching_options opts(int queued, int running, int prefill) {
  batching_options o;
  o.max_queued = queued;
  o.max_running = running;
  o.max_prefill_tokens = prefill;
  return o;
}

TEST(JobQueue, FullQueueIsARejectionNotAWait) {
  job_queue q(opts(2, 4, 1000));
  EXPECT_EQ(q.admit(1, 10), admission::queued);
  EXPECT_EQ(q.admit(2, 10), admission::queued);
  EXPECT_EQ(q.admit(3, 10), admission::queue_full);
  EXPECT_EQ(q.num_queued(), 2);
  EXPECT_EQ(q.queue_position(2), 2);
  EXPECT_EQ(q.queue_position(3), 0);
}

TEST(JobQueue, JobsJoinARunningBatchBetweenSteps) {
  job_queue q(opts(8, 3, 1000));
  q.admit(1, 10);
  EXPECT_EQ(q.next_joiners(), (std::vector<uint64_t>{1}));
  q.admit(2, 10);
  q.admit(3, 10);
  q.admit(4, 10);
  // Job 1 keeps running; two more fit (max_running 3), job 4 waits for room.
  EXPECT_EQ(q.next_joiners(), (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(q.queue_position(4), 1);
  EXPECT_TRUE(q.next_joiners().empty());
  q.finished(2);
  EXPECT_EQ(q.next_joiners(), (std::vector<uint64_t>{4}));
  EXPECT_EQ(q.num_running(), 3);
}

TEST(JobQueue, PrefillBudgetSpreadsLongPromptsOverSteps) {
  job_queue q(opts(8, 8, 100));
  q.admit(1, 60);
  q.admit(2, 60);
  q.admit(3, 30);
  EXPECT_EQ(q.next_joiners(), (std::vector<uint64_t>{1}));  // FCFS: 3 does not overtake 2
  EXPECT_EQ(q.next_joiners(), (std::vector<uint64_t>{2, 3}));
}

TEST(JobQueue, PromptLongerThanTheBudgetStillRunsAlone) {
  job_queue q(opts(8, 8, 100));
  q.admit(1, 500);
  q.admit(2, 10);
  EXPECT_EQ(q.next_joiners(), (std::vector<uint64_t>{1}));
  EXPECT_EQ(q.next_joiners(), (std::vector<uint64_t>{2}));
}

TEST(JobQueue, CancelRemovesWaitingOrRunningJobs) {
  job_queue q(opts(8, 1, 100));
  q.admit(1, 10);
  q.admit(2, 10);
  q.next_joiners();
  EXPECT_TRUE(q.cancel(2));  // waiting
  EXPECT_TRUE(q.cancel(1));  // running
  EXPECT_FALSE(q.cancel(1));
  EXPECT_FALSE(q.cancel(99));
  EXPECT_EQ(q.num_running(), 0);
  EXPECT_EQ(q.num_queued(), 0);
}

TEST(JobQueue, OptionsMustBePositive) {
  EXPECT_THROW(job_queue(opts(0, 1, 1)), std::invalid_argument);
  EXPECT_THROW(job_queue(opts(1, 0, 1)), std::invalid_argument);
  EXPECT_THROW(job_queue(opts(1, 1, 0)), std::invalid_argument);
}

TEST(JobQueue, RequeuedJobJoinsFirstEvenWhenTheQueueIsFull) {
  job_queue q(opts(1, 1, 1000));
  q.admit(1, 10);
  EXPECT_EQ(q.next_joiners(), (std::vector<uint64_t>{1}));
  q.admit(2, 10);  // the queue is now full
  EXPECT_TRUE(q.requeue_front(1, 10));
  EXPECT_FALSE(q.is_running(1));
  EXPECT_EQ(q.queue_position(1), 1);
  EXPECT_EQ(q.next_joiners(), (std::vector<uint64_t>{1}));
  EXPECT_FALSE(q.requeue_front(2, 10)) << "job 2 is waiting, not running";
}

TEST(JobQueue, MaxRunningFollowsTheWorkersAlive) {
  job_queue q(opts(8, 1, 1000));
  for (uint64_t id = 1; id <= 4; ++id) q.admit(id, 10);
  EXPECT_EQ(q.next_joiners().size(), 1u);
  q.set_max_running(3);
  EXPECT_EQ(q.next_joiners().size(), 2u);
  q.set_max_running(0);  // clamped: one job may always run
  EXPECT_EQ(q.max_running(), 1);
}

}  // namespace
}  // namespace alisa::scheduler
