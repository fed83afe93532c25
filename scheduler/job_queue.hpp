#pragma once
// job_queue — the coordinator's admission and continuous batching, as pure bookkeeping.
//
//   admit() ──queued──> waiting (bounded: max_queued) ──next_joiners() between steps──> running
//   running ──finished() | cancel()──> gone;  waiting ──cancel()──> gone
//
// Continuous batching: a running batch is never drained first. Between any two steps the
// coordinator asks next_joiners(), and queued jobs join first come first served while the batch
// has room (max_running) and the step's prefill stays within max_prefill_tokens (a long prompt
// alone may exceed it, or it would never run). A full queue is a rejection the caller reports at
// once ("running out is a return value"), never a wait.
//
// Thread affinity: one coordinator, one thread at a time. Pure: no I/O.
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_set>
#include <vector>

namespace alisa::scheduler {

struct batching_options {
  int max_queued = 256;           // jobs waiting to join; beyond that admit() refuses
  int max_running = 64;           // jobs decoding together in one step
  int max_prefill_tokens = 4096;  // prompt tokens joining in one step (latency of running jobs)
  // Throws std::invalid_argument naming the first option that is not positive.
  static constexpr int kMaxQueuedCap = 1'000'000;
  static constexpr int kMaxRunningCap = 4096;
  void validate() const;  // throws std::invalid_argument naming the option out of range
};

enum class admission { queued, queue_full };

class job_queue {
 public:
  explicit job_queue(const batching_options& options);  // validates

  // Queues a job of `prompt_tokens` tokens; queue_full when max_queued jobs already wait.
  admission admit(uint64_t job, int prompt_tokens);
  // Jobs that join the running batch now (they become running), FCFS.
  std::vector<uint64_t> next_joiners();
  // A running job ended (EOS, length, stop, failure).
  void finished(uint64_t job);
  // Removes a waiting or running job; false when it is neither.
  bool cancel(uint64_t job);
  // A running job goes back to the head of the waiting queue (its worker died, or its KV was lost
  // and it must prefill again): it joins before anything admitted later. Not counted against
  // max_queued (it was already accepted). False when the job is not running.
  bool requeue_front(uint64_t job, int prompt_tokens);
  // How many jobs may run at once, e.g. max_running per worker times the workers alive (>= 1).
  void set_max_running(int max_running);

  int num_queued() const { return static_cast<int>(waiting_.size()); }
  int num_running() const { return static_cast<int>(running_.size()); }
  bool is_running(uint64_t job) const { return running_.count(job) > 0; }
  int max_running() const { return options_.max_running; }
  // 1-based place in the waiting queue; 0 when not waiting.
  int queue_position(uint64_t job) const;

 private:
  struct waiting_job {
    uint64_t id;
    int prompt_tokens;
  };
  batching_options options_;
  std::deque<waiting_job> waiting_;
  std::unordered_set<uint64_t> running_;
};

}  // namespace alisa::scheduler
