#include "scheduler/job_ledger.hpp"

#include <algorithm>
#include <cassert>
#include <limits>

namespace alisa::scheduler {

job_ledger::job_ledger(int max_restarts) : max_restarts_(max_restarts) {
  assert(max_restarts >= 0);
}

int job_ledger::add_worker() {
  workers_.push_back({});
  return static_cast<int>(workers_.size()) - 1;
}

std::vector<uint64_t> job_ledger::worker_down(int worker) {
  std::vector<uint64_t> orphans;
  if (!alive(worker)) return orphans;
  workers_[static_cast<size_t>(worker)].alive = false;
  for (auto& [id, job] : jobs_)
    if (job.worker == worker) {
      orphans.push_back(id);
      job.worker = -1;
    }
  workers_[static_cast<size_t>(worker)].num_running = 0;
  return orphans;
}

bool job_ledger::alive(int worker) const {
  return worker >= 0 && worker < num_workers() && workers_[static_cast<size_t>(worker)].alive;
}

int job_ledger::num_alive() const {
  return static_cast<int>(std::count_if(workers_.begin(), workers_.end(),
                                        [](const worker_entry& w) { return w.alive; }));
}

int job_ledger::num_running(int worker) const {
  return alive(worker) ? workers_[static_cast<size_t>(worker)].num_running : 0;
}

int job_ledger::least_loaded() const {
  int best = -1;
  int best_load = std::numeric_limits<int>::max();
  for (int w = 0; w < num_workers(); ++w)
    if (alive(w) && workers_[static_cast<size_t>(w)].num_running < best_load) {
      best = w;
      best_load = workers_[static_cast<size_t>(w)].num_running;
    }
  return best;
}

void job_ledger::admit(uint64_t job) { jobs_[job]; }

void job_ledger::place(uint64_t job, int worker) {
  assert(contains(job) && alive(worker));
  job_entry& j = jobs_.at(job);
  leave_worker(j);
  j.worker = worker;
  ++workers_[static_cast<size_t>(worker)].num_running;
}

int job_ledger::worker_of(uint64_t job) const {
  const auto it = jobs_.find(job);
  return it == jobs_.end() ? -1 : it->second.worker;
}

replay_chunk job_ledger::on_chunk(uint64_t id, std::span<const int32_t> tokens,
                                  std::string_view text) {
  replay_chunk fresh;
  const auto it = jobs_.find(id);
  if (it == jobs_.end()) return fresh;
  job_entry& job = it->second;
  for (int32_t t : tokens) {
    const size_t index = job.tokens_produced++;
    if (index < job.delivered.size()) {
      if (job.delivered[index] != t) {
        fresh.diverged = true;
        return fresh;
      }
      continue;
    }
    job.delivered.push_back(t);
    fresh.token_ids.push_back(t);
  }
  const size_t start = job.text_produced;
  job.text_produced += text.size();
  if (job.text_produced > job.text_delivered)
    fresh.text = std::string(text.substr(job.text_delivered > start ? job.text_delivered - start : 0));
  job.text_delivered = std::max(job.text_delivered, job.text_produced);
  return fresh;
}

bool job_ledger::restart(uint64_t id) {
  const auto it = jobs_.find(id);
  if (it == jobs_.end()) return false;
  job_entry& job = it->second;
  if (++job.restarts > max_restarts_) return false;
  leave_worker(job);
  job.tokens_produced = 0;
  job.text_produced = 0;
  ++total_restarts_;
  return true;
}

void job_ledger::remove(uint64_t id) {
  const auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  leave_worker(it->second);
  jobs_.erase(it);
}

void job_ledger::leave_worker(job_entry& job) {
  if (alive(job.worker)) --workers_[static_cast<size_t>(job.worker)].num_running;
  job.worker = -1;
}

}  // namespace alisa::scheduler
