#include "scheduler/job_queue.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace alisa::scheduler {

void batching_options::validate() const {
  if (max_queued < 1) throw std::invalid_argument("max_queued must be >= 1");
  if (max_running < 1) throw std::invalid_argument("max_running must be >= 1");
  if (max_prefill_tokens < 1) throw std::invalid_argument("max_prefill_tokens must be >= 1");
  // Caps: each queued or running job holds state (and a running one a device pool share); a typo
  // of a few zeros should be an error, not a queue that exhausts memory before anything runs.
  if (max_queued > kMaxQueuedCap)
    throw std::invalid_argument("max_queued (--max-queued) must be <= " + std::to_string(kMaxQueuedCap));
  if (max_running > kMaxRunningCap)
    throw std::invalid_argument("max_running (--max-running) must be <= " + std::to_string(kMaxRunningCap));
}

job_queue::job_queue(const batching_options& options) : options_(options) { options_.validate(); }

admission job_queue::admit(uint64_t job, int prompt_tokens) {
  if (num_queued() >= options_.max_queued) return admission::queue_full;
  waiting_.push_back({job, prompt_tokens});
  return admission::queued;
}

std::vector<uint64_t> job_queue::next_joiners() {
  std::vector<uint64_t> joiners;
  int prefill = 0;
  while (!waiting_.empty() && num_running() < options_.max_running) {
    const waiting_job& next = waiting_.front();
    // Over the prefill budget waits for the next step, unless nothing else prefills now.
    if (!joiners.empty() && prefill + next.prompt_tokens > options_.max_prefill_tokens) break;
    prefill += next.prompt_tokens;
    joiners.push_back(next.id);
    running_.insert(next.id);
    waiting_.pop_front();
  }
  return joiners;
}

void job_queue::finished(uint64_t job) { running_.erase(job); }

bool job_queue::cancel(uint64_t job) {
  if (running_.erase(job) > 0) return true;
  const auto it = std::find_if(waiting_.begin(), waiting_.end(),
                               [&](const waiting_job& w) { return w.id == job; });
  if (it == waiting_.end()) return false;
  waiting_.erase(it);
  return true;
}

bool job_queue::requeue_front(uint64_t job, int prompt_tokens) {
  if (running_.erase(job) == 0) return false;
  waiting_.push_front({job, prompt_tokens});
  return true;
}

void job_queue::set_max_running(int max_running) { options_.max_running = std::max(1, max_running); }

int job_queue::queue_position(uint64_t job) const {
  for (size_t i = 0; i < waiting_.size(); ++i)
    if (waiting_[i].id == job) return static_cast<int>(i) + 1;
  return 0;
}

}  // namespace alisa::scheduler
