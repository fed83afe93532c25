#pragma once
// random_floats — reproducible uniform test data (std::mt19937 with a fixed seed).
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace alisa::test {

inline std::vector<float> random_floats(size_t count, uint32_t seed, float lo = -1.0f,
                                        float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(count);
  for (auto& x : v) x = dist(rng);
  return v;
}

}  // namespace alisa::test
