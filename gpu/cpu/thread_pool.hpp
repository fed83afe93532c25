#pragma once
// thread_pool — persistent workers for the CPU backend's data-parallel ops.
//
// Contract:
//  * `num_threads` total participants: the calling thread is participant 0, and num_threads-1
//    workers are created once and live until destruction.
//  * run(job) calls job(thread_index, num_threads) once on every participant and returns when
//    all have finished. parallel_for() builds static, contiguous chunking on top of it.
//  * Only one thread may drive a pool at a time (like the backend that owns it); jobs must not
//    call back into the same pool.
//  * Idle workers spin on an atomic epoch for a short time (a decode step issues hundreds of
//    small jobs back to back, so a futex wake per job would dominate), then block on a futex
//    (std::atomic::wait) so they burn no CPU while another process runs.
#include <atomic>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace alisa::gpu::cpu {

class thread_pool {
 public:
  // num_threads <= 0 means std::thread::hardware_concurrency().
  explicit thread_pool(int num_threads);
  ~thread_pool();
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  int num_threads() const { return num_threads_; }

  // Calls fn(thread_index, num_threads) on every participant (the caller is index 0).
  template <typename F>
  void run(const F& fn) {
    run_erased(
        [](const void* ctx, int index, int count) { (*static_cast<const F*>(ctx))(index, count); },
        &fn);
  }

  // Splits [begin, end) into num_threads contiguous chunks whose interior boundaries are
  // multiples of `grain` (relative to begin) and calls fn(chunk_begin, chunk_end, thread_index)
  // for every non-empty chunk. Runs inline when one chunk suffices.
  template <typename F>
  void parallel_for(int64_t begin, int64_t end, const F& fn, int64_t grain = 1) {
    if (end <= begin) return;
    const int64_t parts = chunk_count(end - begin, grain);
    if (parts <= 1) {
      fn(begin, end, 0);
      return;
    }
    run([&](int index, int /*count*/) {
      const auto [b, e] = chunk_bounds(begin, end, grain, parts, index);
      if (b < e) fn(b, e, index);
    });
  }

  // The [begin, end) chunk participant `index` of `parts` gets; exposed for tests.
  static std::pair<int64_t, int64_t> chunk_bounds(int64_t begin, int64_t end, int64_t grain,
                                                  int64_t parts, int index);

 private:
  using job_fn = void (*)(const void* ctx, int index, int count);

  void run_erased(job_fn fn, const void* ctx);
  void worker_loop(int index);
  int64_t chunk_count(int64_t size, int64_t grain) const;

  int num_threads_;
  std::vector<std::thread> workers_;
  // Job slot, published by the release-increment of epoch_.
  job_fn job_ = nullptr;
  const void* job_ctx_ = nullptr;
  alignas(64) std::atomic<uint32_t> epoch_{0};
  alignas(64) std::atomic<uint32_t> pending_{0};  // workers still running the current job
  alignas(64) std::atomic<bool> stop_{false};
};

}  // namespace alisa::gpu::cpu
