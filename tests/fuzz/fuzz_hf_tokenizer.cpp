// tokenizer.json (byte-level BPE, Llama-2-style BPE with Metaspace and byte fallback, Unigram):
// the model, normalizer, pre-tokenizer, decoder and added tokens; a tokenizer that loads must
// then encode and decode without faults (the text has spaces to mark, characters outside any
// small vocabulary, an emoji for byte fallback and an added token's text).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "model/tokenizer_formats.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int vocab = 64 + data[0] * 4;  // the model's vocab_size the file is checked against
  std::string_view json(reinterpret_cast<const char*>(data + 1), size - 1);
  auto tok = alisa::model::parse_hf_tokenizer(json, "fuzz", vocab);
  if (!tok.ok()) return 0;
  auto ids = (*tok)->encode("  Hello, world! 123 \xc3\xa9t\xc3\xa9 <|endoftext|> <mask>\n\xf0\x9f\x98\x80 ab", true);
  (void)(*tok)->decode(ids);
  return 0;
}
