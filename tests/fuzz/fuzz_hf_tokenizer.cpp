// tokenizer.json (byte-level BPE): the vocabulary, merges, added tokens, pre-tokenizer; a
// tokenizer that loads must then encode and decode without faults.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "model/tokenizer_formats.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int vocab = 64 + data[0] * 4;  // the model's vocab_size the file is checked against
  std::string_view json(reinterpret_cast<const char*>(data + 1), size - 1);
  auto tok = alisa::model::parse_hf_bpe_tokenizer(json, "fuzz", vocab);
  if (!tok.ok()) return 0;
  auto ids = (*tok)->encode("Hello, world! 123 \xc3\xa9t\xc3\xa9 <|endoftext|>", true);
  (void)(*tok)->decode(ids);
  return 0;
}
