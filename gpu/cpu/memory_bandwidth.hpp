#pragma once
// Measures what the memory system can deliver to the CPU backend, so decode benchmarks can report
// achieved vs attainable bandwidth (decode is memory-bound: every step streams all weights).
#include <cstddef>
#include <string>

#include "gpu/cpu/thread_pool.hpp"

namespace alisa::gpu::cpu {

inline constexpr size_t kDefaultBandwidthBytes = size_t{512} << 20;  // >> any LLC we target

// Multi-threaded streaming read: every participant of `pool` SIMD-sums its contiguous share of a
// `bytes`-sized buffer (allocated and first-touched here). Returns the median over `repetitions`
// timed passes in GB/s (1 GB = 1e9 bytes). The buffer must be several times the LLC size for the
// number to mean DRAM bandwidth.
double measure_read_bandwidth_gbs(thread_pool& pool, size_t bytes = kDefaultBandwidthBytes,
                                  int repetitions = 5);
// Same with a temporary pool of `num_threads` (<= 0: all hardware threads).
double measure_read_bandwidth_gbs(int num_threads, size_t bytes = kDefaultBandwidthBytes,
                                  int repetitions = 5);

// The Highway target the CPU kernels dispatch to on this machine, e.g. "AVX2" or "AVX3".
std::string simd_target_name();

}  // namespace alisa::gpu::cpu
