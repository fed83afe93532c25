#pragma once
// checksum — CRC-32 (zlib's polynomial and chaining) over bytes, for values that leave this
// process's RAM (disk, another node) and are verified when they come back. libdeflate computes
// it with carry-less multiplication where the CPU has it (block_codec.hpp uses the same).
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace alisa::storage {

// CRC-32 of `bytes`, continuing from `crc` (0 to start).
uint32_t crc32(std::string_view bytes, uint32_t crc = 0);

}  // namespace alisa::storage
