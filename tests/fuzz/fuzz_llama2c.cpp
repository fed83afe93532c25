// llama2.c files: the checkpoint (.bin: a 7-int header, then the weights it implies) and the
// tokenizer (tok*.bin: max length, then scored pieces); the first input byte picks which.
#include <cstddef>
#include <cstdint>

#include "model/llama2c_loader.hpp"
#include "model/tokenizer_formats.hpp"
#include "tests/fuzz/memory_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  alisa::fuzz::memory_file file(data + 1, size - 1);
  if (data[0] & 1) {
    auto tok = alisa::model::load_llama2c_tokenizer(file.path(), 32 + (data[0] >> 1));
    if (tok.ok()) (void)(*tok)->decode((*tok)->encode("Once upon a time", true));
  } else {
    auto weights = alisa::model::load_llama2c(file.path());
    (void)weights;
  }
  return 0;
}
