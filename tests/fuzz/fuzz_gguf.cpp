// GGUF: the header, every metadata entry (types, arrays, strings), tensor infos (dimensions,
// types, offsets), alignment and data placement. A parsed file's tensors must lie in the input.
#include <cstddef>
#include <cstdint>

#include "model/gguf.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto* bytes = reinterpret_cast<const std::byte*>(data);
  auto file = alisa::model::parse_gguf(bytes, size, "fuzz");
  if (file.ok()) {
    for (const auto& [name, t] : file->tensors)
      if (t.data < bytes || t.data + t.num_bytes > bytes + size) __builtin_trap();
  }
  return 0;
}
