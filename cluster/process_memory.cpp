#include "cluster/process_memory.hpp"

#include <malloc.h>

namespace alisa::cluster {

void return_freed_memory_promptly() { ::mallopt(M_TRIM_THRESHOLD, 4 << 20); }

}  // namespace alisa::cluster
