#pragma once
// ram_store — the host tier: values in an ordered map in this process's memory. Also the
// in-memory twin of the RocksDB store for tests. Never fails; only fills up.
// Contract, ownership and thread affinity: block_store.hpp.
#include <cstdint>
#include <memory>

#include "storage/block_store.hpp"

namespace alisa::storage {

// A store that holds at most budget_bytes of values (0: every put is full).
std::unique_ptr<block_store> make_ram_store(uint64_t budget_bytes);

}  // namespace alisa::storage
