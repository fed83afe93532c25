#pragma once
// fair_share — split a capacity among claimants max-min fairly (water-filling): every claimant
// gets min(need, level) with the level as high as the capacity allows, so claimants that need
// less than an equal share leave the rest to the others; equal needs get equal shares. Units
// that an integer level leaves over go one each to the unsatisfied claimants in order (the
// earliest first), so nothing that could be used is left idle. The phase planner splits device
// blocks and host / NVMe bytes with it.
#include <cstdint>
#include <span>
#include <vector>

namespace alisa::scheduler {

// shares[i] <= needs[i]; sum(shares) == min(capacity, sum(needs)).
std::vector<uint64_t> fair_shares(std::span<const uint64_t> needs, uint64_t capacity);

}  // namespace alisa::scheduler
