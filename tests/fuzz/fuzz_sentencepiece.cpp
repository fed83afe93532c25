// A SentencePiece `.model` (a protobuf ModelProto): parsed by Debian's libsentencepiece, then
// checked by alisa against the model's vocabulary; a tokenizer that loads must then encode and
// decode. The library itself is not instrumented: this finds crashes, not coverage inside it.
#include <cstddef>
#include <cstdint>

#include "model/tokenizer_formats.hpp"
#include "tests/fuzz/memory_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  alisa::fuzz::memory_file file(data + 1, size - 1);
  auto tok = alisa::model::load_sentencepiece_tokenizer(file.path(), 32 + data[0] * 128);
  if (tok.ok()) (void)(*tok)->decode((*tok)->encode("Once upon a time, 123 \xc3\xa9", true));
  return 0;
}
