// `--config FILE`: alisa's own option file (one `name = value` per line, comments, quotes), as
// every command expands it before parsing its flags.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cluster/config_file.hpp"
#include "tests/fuzz/memory_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  alisa::fuzz::memory_file file(data, size);
  std::string error;
  auto args = alisa::cluster::expand_config_file(
      {"alisa", "run", "--config", file.path(), "--model", "stories260K"}, error);
  (void)args;
  return 0;
}
