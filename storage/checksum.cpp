#include "storage/checksum.hpp"

#include <libdeflate.h>

namespace alisa::storage {

uint32_t crc32(std::string_view bytes, uint32_t crc) {
  return libdeflate_crc32(crc, bytes.data(), bytes.size());
}

}  // namespace alisa::storage
