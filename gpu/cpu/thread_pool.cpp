#include "gpu/cpu/thread_pool.hpp"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace alisa::gpu::cpu {
namespace {

// How long an idle participant polls before blocking. Long enough to bridge the gaps between the
// ops of one decode step (microseconds), short enough that sleeping workers leave the cores to
// other processes almost immediately.
constexpr auto kSpinBudget = std::chrono::microseconds(150);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// Spins until `value` differs from `old`, then falls back to a futex wait. Returns the new value.
uint32_t wait_for_change(const std::atomic<uint32_t>& value, uint32_t old) {
  const auto deadline = std::chrono::steady_clock::now() + kSpinBudget;
  for (int i = 1;; ++i) {
    const uint32_t now = value.load(std::memory_order_acquire);
    if (now != old) return now;
    cpu_relax();
    // Reading the clock costs ~20 ns; do it rarely.
    if ((i & 63) == 0 && std::chrono::steady_clock::now() > deadline) break;
  }
  for (;;) {
    value.wait(old, std::memory_order_acquire);
    const uint32_t now = value.load(std::memory_order_acquire);
    if (now != old) return now;
  }
}

}  // namespace

thread_pool::thread_pool(int num_threads)
    : num_threads_(num_threads > 0 ? num_threads
                                   : std::max(1u, std::thread::hardware_concurrency())) {
  workers_.reserve(static_cast<size_t>(num_threads_ - 1));
  for (int i = 1; i < num_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

thread_pool::~thread_pool() {
  stop_.store(true, std::memory_order_relaxed);
  epoch_.fetch_add(1, std::memory_order_release);
  epoch_.notify_all();
  for (auto& w : workers_) w.join();
}

void thread_pool::run_erased(job_fn fn, const void* ctx) {
  if (num_threads_ == 1) {
    fn(ctx, 0, 1);
    return;
  }
  job_ = fn;
  job_ctx_ = ctx;
  pending_.store(static_cast<uint32_t>(num_threads_ - 1), std::memory_order_relaxed);
  epoch_.fetch_add(1, std::memory_order_release);  // publishes job_, job_ctx_, pending_
  epoch_.notify_all();  // cheap when every worker is still spinning (no futex waiters)
  fn(ctx, 0, num_threads_);
  uint32_t left = pending_.load(std::memory_order_acquire);
  while (left != 0) left = wait_for_change(pending_, left);
}

void thread_pool::worker_loop(int index) {
  // Epoch 0 is the value at construction; a worker that starts late must still see job 1.
  uint32_t seen = 0;
  for (;;) {
    seen = wait_for_change(epoch_, seen);
    if (stop_.load(std::memory_order_relaxed)) return;
    job_(job_ctx_, index, num_threads_);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
  }
}

int64_t thread_pool::chunk_count(int64_t size, int64_t grain) const {
  const int64_t grains = (size + grain - 1) / grain;
  return std::min<int64_t>(num_threads_, grains);
}

std::pair<int64_t, int64_t> thread_pool::chunk_bounds(int64_t begin, int64_t end, int64_t grain,
                                                      int64_t parts, int index) {
  // Distribute whole grains as evenly as possible; the last chunk absorbs the ragged tail.
  const int64_t grains = (end - begin + grain - 1) / grain;
  const int64_t base = grains / parts, extra = grains % parts;
  const int64_t first = index * base + std::min<int64_t>(index, extra);
  const int64_t count = base + (index < extra ? 1 : 0);
  const int64_t b = begin + first * grain;
  const int64_t e = std::min(end, b + count * grain);
  return {std::min(b, end), e};
}

}  // namespace alisa::gpu::cpu
