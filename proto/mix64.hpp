#pragma once
// mix64 — splitmix64's finaliser: a well-mixed, bijective 64-bit step for the content hashes
// (prefix-cache keys, engine/prefix_cache.cpp) and placements (actors/hashed_block_store.cpp)
// that every node must compute alike. Not cryptographic.
#include <cstdint>

namespace alisa {

constexpr uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace alisa
