#include "storage/read_pool.hpp"

namespace alisa::storage {

read_pool::read_pool(int num_threads) {
  for (int i = 0; i < num_threads; ++i) threads_.emplace_back([this] { work(); });
}

read_pool::~read_pool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

// Takes indices of the current batch until none is left; the lock is released around each task.
void read_pool::take_indices() {
  std::unique_lock lock(mutex_);
  while (task_ && next_ < count_) {
    const size_t i = next_++;
    const auto* task = task_;
    lock.unlock();
    (*task)(i);
    lock.lock();
    if (++finished_ == count_) done_.notify_all();
  }
}

void read_pool::work() {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
    }
    take_indices();
  }
}

void read_pool::run(size_t count, const std::function<void(size_t)>& task) {
  if (count == 0) return;
  {
    std::lock_guard lock(mutex_);
    task_ = &task;
    count_ = count;
    next_ = finished_ = 0;
    ++generation_;
  }
  if (count > 1) wake_.notify_all();
  take_indices();
  std::unique_lock lock(mutex_);
  done_.wait(lock, [&] { return finished_ == count_; });
  task_ = nullptr;
}

}  // namespace alisa::storage
