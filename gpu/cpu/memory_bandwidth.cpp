#include "gpu/cpu/memory_bandwidth.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "gpu/cpu/kernels.hpp"

namespace alisa::gpu::cpu {

double measure_read_bandwidth_gbs(thread_pool& pool, size_t bytes, int repetitions) {
  const int64_t count = static_cast<int64_t>(std::max<size_t>(bytes, 4096) / sizeof(float));
  const size_t alloc_bytes = (static_cast<size_t>(count) * sizeof(float) + 4095) / 4096 * 4096;
  std::unique_ptr<float, decltype(&std::free)> buffer(
      static_cast<float*>(std::aligned_alloc(4096, alloc_bytes)), &std::free);
  if (!buffer) throw std::bad_alloc();
  float* data = buffer.get();
  constexpr int64_t kGrain = 4096;  // 16 KiB: chunk edges on page boundaries
  // First touch by the threads that will read, and non-zero pages (a zero page may be shared).
  pool.parallel_for(0, count, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) data[i] = 1.0f;
  }, kGrain);

  std::vector<double> partial(static_cast<size_t>(pool.num_threads()));
  std::vector<double> seconds;
  for (int rep = 0; rep < std::max(1, repetitions); ++rep) {
    const auto start = std::chrono::steady_clock::now();
    pool.parallel_for(0, count, [&](int64_t b, int64_t e, int t) {
      partial[static_cast<size_t>(t)] = kernels::sum(data + b, e - b);
    }, kGrain);
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  // Keep the sums observable so the reads cannot be optimised away.
  volatile double sink = 0;
  for (double p : partial) sink = sink + p;
  std::nth_element(seconds.begin(), seconds.begin() + seconds.size() / 2, seconds.end());
  const double median = seconds[seconds.size() / 2];
  return static_cast<double>(count) * sizeof(float) / median / 1e9;
}

double measure_read_bandwidth_gbs(int num_threads, size_t bytes, int repetitions) {
  thread_pool pool(num_threads);
  return measure_read_bandwidth_gbs(pool, bytes, repetitions);
}

std::string simd_target_name() { return kernels::dispatched_target_name(); }

}  // namespace alisa::gpu::cpu
