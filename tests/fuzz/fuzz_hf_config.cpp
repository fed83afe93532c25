// config.json of a Hugging Face model: every field's type and range, then the config checks.
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/hf_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto config = alisa::model::parse_hf_config(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
  if (config.ok()) (void)alisa::model::validate(*config);
  return 0;
}
