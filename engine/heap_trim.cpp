#include "engine/heap_trim.hpp"

#include <malloc.h>

namespace alisa::engine {

void return_freed_heap() { ::malloc_trim(0); }

}  // namespace alisa::engine
