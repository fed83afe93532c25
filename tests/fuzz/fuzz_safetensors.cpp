// safetensors: the header length, the JSON header, every tensor's dtype, shape and offsets.
#include <cstddef>
#include <cstdint>

#include "model/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto table = alisa::model::parse_safetensors(reinterpret_cast<const std::byte*>(data), size, "fuzz");
  (void)table;
  return 0;
}
