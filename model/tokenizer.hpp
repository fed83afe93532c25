#pragma once
// tokenizer — text <-> token ids. Implementations: llama2.c tokenizer.bin, SentencePiece .model,
// Hugging Face tokenizer.json (BPE, byte-level or with byte fallback, and Unigram; also a GGUF
// file's "gpt2" vocabulary), and the byte tokenizer of synthetic models.
// Immutable after loading and safe to share between threads.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace alisa::model {

class tokenizer {
 public:
  virtual ~tokenizer() = default;
  virtual std::string name() const = 0;  // "llama2c", "sentencepiece", "hf-bpe", "hf-unigram", "byte"
  virtual int vocab_size() const = 0;
  virtual int bos_id() const = 0;  // -1 when the tokenizer has none
  virtual int eos_id() const = 0;  // -1 when the tokenizer has none
  // Encodes text; prepends BOS when add_bos and the tokenizer has one.
  virtual std::vector<int> encode(std::string_view text, bool add_bos) const = 0;
  // The raw bytes token `id` contributes when it follows `previous` (-1 at the start). May be a
  // partial UTF-8 sequence (byte-fallback or byte-level tokens); utf8_stream reassembles them.
  virtual std::string token_bytes(int previous, int id) const = 0;
  // Decodes a whole sequence (special tokens such as BOS/EOS contribute nothing).
  virtual std::string decode(const std::vector<int>& ids) const;
};

// Loads a tokenizer file, choosing the format from its content/name (tokenizer.json,
// *.model = SentencePiece, anything else = llama2.c tokenizer.bin). `vocab_size` is needed by the
// llama2.c format (it does not store it); pass the model's.
absl::StatusOr<std::unique_ptr<tokenizer>> load_tokenizer(const std::string& path, int vocab_size);

// Finds the tokenizer inside a model directory (tokenizer.json, tokenizer.model, tokenizer.bin,
// tok*.bin, also next to a llama2.c .bin file). NotFound when there is none.
absl::StatusOr<std::string> find_tokenizer(const std::string& model_spec);

// Byte tokenizer for synthetic models, laid out like SentencePiece byte fallback: id 0 unk,
// bos_id / eos_id (pass 1 and 2), byte b -> id b + 3. Ids >= 259 carry no text; they decode to the
// printable ASCII char ' ' + (id - 259) % 95 so that random-weight output shows as visible text.
// Needs vocab_size >= 259 to be lossless (every synthetic preset has >= 512); a smaller vocab
// folds bytes onto id 3 + b % (vocab_size - 3) and decoding is then lossy.
std::unique_ptr<tokenizer> make_byte_tokenizer(int vocab_size, int bos_id, int eos_id);

// Reassembles a stream of token byte strings into complete UTF-8 text, holding back an incomplete
// trailing sequence until its continuation bytes arrive.
class utf8_stream {
 public:
  std::string push(std::string_view bytes);  // returns the text that is now complete
  std::string flush();                        // whatever is left (invalid bytes become U+FFFD)
 private:
  std::string pending_;
};

}  // namespace alisa::model
