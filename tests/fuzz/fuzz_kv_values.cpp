// KV values that come back from a memory node or a disk: block_codec frames (a sequence's K, V
// or hidden rows) and prefix-cache blocks (engine/prefix_block_codec.hpp). The first input byte
// picks the decoder; odd picks repair the trailing CRC first, so the fuzzer reaches the checks
// behind it (sizes, shape, key) instead of stopping at the checksum.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "engine/prefix_block_codec.hpp"
#include "storage/block_codec.hpp"
#include "storage/checksum.hpp"

namespace {

using namespace alisa;

void decode_prefix(std::string value, bool repair_crc) {
  if (repair_crc && value.size() >= 4) {
    const uint32_t crc = storage::crc32(std::string_view(value).substr(0, value.size() - 4));
    std::memcpy(value.data() + value.size() - 4, &crc, 4);
  }
  std::vector<int32_t> tokens(kv_block_tokens, 0);
  for (bool keep_hidden : {false, true}) {
    engine::prefix_cache_shape shape{2, 4, 8, keep_hidden};
    engine::prefix_key key{1, 2}, parent{3, 4};
    if (value.size() >= 40) {  // the key fields as written, so the payload checks are reached
      std::memcpy(&key, value.data() + 8, 16);
      std::memcpy(&parent, value.data() + 24, 16);
    }
    if (value.size() >= 308) std::memcpy(tokens.data(), value.data() + 52, 256);
    auto block = engine::decode_prefix_block(value, key, parent, tokens, shape);
    if (block.ok() && (block->keys.size() != shape.block_floats() ||
                       block->hidden.size() != shape.hidden_floats()))
      __builtin_trap();  // a decoded block must have the shape it was checked against
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string value(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 4) {
    case 0: (void)storage::decode_block(value, /*verify_checksum=*/true); break;
    case 1: (void)storage::decode_block(value, /*verify_checksum=*/false); break;
    default: decode_prefix(value, data[0] % 2 == 1); break;
  }
  return 0;
}
