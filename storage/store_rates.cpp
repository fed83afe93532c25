#include "storage/store_rates.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace alisa::storage {
namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

double median(std::vector<double> values) {
  const auto middle = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  std::nth_element(values.begin(), middle, values.end());
  return *middle;
}

block_key probe_key(int i) {
  return block_key{rates_probe_sequence, 0, kv_part::keys, static_cast<uint32_t>(i)};
}

// Value i differs from the others in its first bytes, so a read that returns the wrong value
// fails the comparison.
std::string probe_value(const std::string& base, int i) {
  std::string value = base;
  for (size_t b = 0; b < sizeof(i) && b < value.size(); ++b) value[b] = static_cast<char>(i >> (8 * b));
  return value;
}

std::string random_bytes(size_t n) {
  std::mt19937_64 rng(0x5eed);
  std::string bytes(n, '\0');
  for (auto& c : bytes) c = static_cast<char>(rng());
  return bytes;
}

// Per-put seconds, or empty when a put did not store.
std::vector<double> timed_puts(block_store& store, const std::string& base, int count) {
  std::vector<double> seconds;
  for (int i = 0; i < count; ++i) {
    const std::string value = probe_value(base, i);
    const auto start = clock_type::now();
    const put_result r = store.put(probe_key(i), value);
    seconds.push_back(seconds_since(start));
    if (r.outcome != put_outcome::stored) return {};
  }
  return seconds;
}

// Per-read seconds (get plus copying the value out, as a consumer does: the RAM store's get
// alone only returns a view) in a shuffled order, or empty when a get failed or returned the wrong bytes.
std::vector<double> timed_gets(block_store& store, const std::string& base, int count) {
  std::vector<int> order(static_cast<size_t>(count));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937(42));
  std::vector<double> seconds;
  std::string buffer;
  std::string copy(base.size(), '\0');
  for (int i : order) {
    const auto start = clock_type::now();
    const auto value = store.get(probe_key(i), buffer);
    const bool sized = value.ok() && value->size() == copy.size();
    if (sized) std::memcpy(copy.data(), value->data(), copy.size());
    seconds.push_back(seconds_since(start));
    if (!sized || copy != probe_value(base, i)) return {};
  }
  return seconds;
}

}  // namespace

store_rates measure_store_rates(block_store& store, size_t value_bytes, int count) {
  if (count <= 0 || value_bytes == 0 || value_bytes > UINT64_MAX / static_cast<uint64_t>(count) ||
      !store.can_store(uint64_t{value_bytes} * static_cast<uint64_t>(count))) {
    return {};
  }
  const std::string base = random_bytes(value_bytes);
  store_rates rates;
  const std::vector<double> puts = timed_puts(store, base, count);
  const auto flush_start = clock_type::now();
  const bool flushed = !puts.empty() && store.flush().ok();
  const double flush_seconds = seconds_since(flush_start);
  const std::vector<double> gets = flushed ? timed_gets(store, base, count) : std::vector<double>{};
  if (!gets.empty()) {
    const double bytes = static_cast<double>(value_bytes);
    rates.write_gbs = bytes / (median(puts) + flush_seconds / count) / 1e9;
    rates.read_latency_us = median(gets) * 1e6;
    rates.read_gbs = bytes / median(gets) / 1e9;
  }
  // Best effort: a store that failed a write may refuse this too, and then has nothing to return.
  store.erase_sequence(rates_probe_sequence).IgnoreError();
  return rates;
}

}  // namespace alisa::storage
