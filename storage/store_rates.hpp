#pragma once
// store_rates — a store's write and read speed, measured on the store itself at start-up, for the
// scheduler's cost model (load from a tier vs recompute). Measured, never assumed: the same code
// times a RAM store and a RocksDB store.
//
// What the numbers include: write = put() plus a share of one flush() (for RocksDB the memtable
// insert plus writing the table file); read = get() of a flushed value in random order plus
// copying it out (for RocksDB through the OS page cache when the values are still there, as in
// real use shortly after a spill). Medians, so one slow call does not set the rate.
#include <cstddef>

#include "storage/block_store.hpp"

namespace alisa::storage {

struct store_rates {
  double write_gbs = 0;        // GB = 1e9 bytes, per second
  double read_gbs = 0;         // bytes of one value / median read time
  double read_latency_us = 0;  // median time to get and copy out one value
};

// The sequence id the measurement writes under; callers must not use it for real blocks.
inline constexpr uint64_t rates_probe_sequence = ~uint64_t{0};

// Writes `count` values of `value_bytes` under rates_probe_sequence, flushes, reads them back in
// random order (checking the bytes), and erases them; bytes_used() is unchanged afterwards.
// All zeros, with the store left as it was, when count or value_bytes is 0, the store has no
// room for count values, or a write, read or comparison fails. ~20 ms for 32 values of 128 KiB.
// Thread affinity: the store's owning thread.
store_rates measure_store_rates(block_store& store, size_t value_bytes, int count);

}  // namespace alisa::storage
