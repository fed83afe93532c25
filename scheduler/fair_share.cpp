// fair_share — water-filling over integer units (fair_share.hpp has the contract).
#include "scheduler/fair_share.hpp"

#include <algorithm>
#include <cassert>
#include <numeric>

namespace alisa::scheduler {
namespace {

// The highest level L with sum(min(need, L)) <= capacity, found by visiting the needs in
// increasing order: once the smallest remaining need exceeds an equal split of what is left,
// every remaining claimant is capped at that split.
uint64_t water_level(std::vector<uint64_t> sorted_needs, uint64_t capacity) {
  std::sort(sorted_needs.begin(), sorted_needs.end());
  uint64_t left = capacity;
  for (size_t i = 0; i < sorted_needs.size(); ++i) {
    const uint64_t equal = left / (sorted_needs.size() - i);
    if (sorted_needs[i] > equal) return equal;
    left -= sorted_needs[i];
  }
  return sorted_needs.empty() ? 0 : sorted_needs.back();
}

}  // namespace

std::vector<uint64_t> fair_shares(std::span<const uint64_t> needs, uint64_t capacity) {
  const uint64_t level = water_level({needs.begin(), needs.end()}, capacity);
  std::vector<uint64_t> shares(needs.size());
  uint64_t given = 0;
  for (size_t i = 0; i < needs.size(); ++i) {
    shares[i] = std::min(needs[i], level);
    given += shares[i];
  }
  assert(given <= capacity);
  for (size_t i = 0; i < needs.size() && given < capacity; ++i) {
    if (shares[i] < needs[i]) {
      ++shares[i];
      ++given;
    }
  }
  return shares;
}

}  // namespace alisa::scheduler
