#pragma once
// machine_memory — what this machine can spare for KV, for defaults sized from it.
#include <cstdint>

namespace alisa::cluster {

// /proc/meminfo's MemAvailable (what can be allocated without swapping), or 0 when unknown.
uint64_t available_memory_bytes();

}  // namespace alisa::cluster
