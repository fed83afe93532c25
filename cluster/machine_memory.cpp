#include "cluster/machine_memory.hpp"

#include <fstream>
#include <string>

namespace alisa::cluster {

uint64_t available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return 0;
}

}  // namespace alisa::cluster
