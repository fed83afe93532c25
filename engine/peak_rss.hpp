#pragma once
// peak_rss — the most resident memory this process has held so far (getrusage's ru_maxrss), the
// figure the memory bound is checked against: weights + KV budgets + a working set that does not
// grow with context length (docs/tiers.md).
#include <cstdint>

namespace alisa::engine {

// Bytes; 0 when the platform does not report it.
uint64_t peak_rss_bytes();

}  // namespace alisa::engine
