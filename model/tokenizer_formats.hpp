#pragma once
// tokenizer_formats — the per-format loaders behind load_tokenizer(). Exposed so that callers (and
// tests) that know the format can skip detection. Every loader returns a one-line absl::Status
// naming the file and the problem; none throws.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "model/tokenizer.hpp"

namespace alisa::model {

// llama2.c tokenizer.bin. The format does not store its token count, so the file must hold exactly
// `vocab_size` records; vocab_size <= 0 means "take every record in the file".
absl::StatusOr<std::unique_ptr<tokenizer>> load_llama2c_tokenizer(const std::string& path,
                                                                  int vocab_size);

// The same tokenizer (SentencePiece-style BPE by scores: unk 0, bos 1, eos 2, "<0xHH>" byte
// pieces, a leading space as the dummy prefix) from its pieces and scores: what a GGUF file's
// "llama" vocabulary holds (model/gguf_tokenizer.cpp converts its "\u2581" to spaces).
// `origin` names the source in errors.
absl::StatusOr<std::unique_ptr<tokenizer>> make_llama2c_tokenizer(
    std::vector<std::string> pieces, std::vector<float> scores, const std::string& origin,
    int vocab_size);

// The vocabulary a GGUF file stores: tokenizer.ggml.model "llama" (tokens and scores, as above)
// or "gpt2" (byte-level BPE: tokens, tokenizer.ggml.merges, token_type, bos/eos ids, and
// tokenizer.ggml.pre naming the split regex: gpt-2/phi-2, llama3/llama-v3/llama-bpe, qwen2; other
// names, including llama.cpp's "default", are refused by name). Other models are Unimplemented.
absl::StatusOr<std::unique_ptr<tokenizer>> load_gguf_tokenizer(const std::string& path,
                                                               int vocab_size);

// SentencePiece ModelProto (.model). Error when it has more pieces than the model's vocab_size
// (models may pad their embedding past the tokenizer); vocab_size <= 0 skips the check.
absl::StatusOr<std::unique_ptr<tokenizer>> load_sentencepiece_tokenizer(const std::string& path,
                                                                        int vocab_size);

// Hugging Face tokenizer.json (model/bpe_tokenizer.cpp lists the flavours): BPE, byte-level
// (GPT-2, Llama-3, Qwen2) or SentencePiece-style with byte fallback (Llama-2, Mistral), and
// Unigram; added tokens with lstrip/rstrip/single_word/normalized. Error when a token id is
// >= vocab_size (vocab_size <= 0 skips the check). Unimplemented, naming the part, for what it
// cannot reproduce (WordPiece, NFKC and other Unicode normalizers, a Precompiled charsmap,
// unrecognised split regexes, ...): load_tokenizer then tries a sibling tokenizer.model.
absl::StatusOr<std::unique_ptr<tokenizer>> load_hf_tokenizer(const std::string& path, int vocab_size);
// Same, from the JSON text; `origin` names the source in error messages.
absl::StatusOr<std::unique_ptr<tokenizer>> parse_hf_tokenizer(std::string_view json,
                                                              const std::string& origin, int vocab_size);

// The names these loaders had when only byte-level BPE was supported (kept for existing callers).
inline absl::StatusOr<std::unique_ptr<tokenizer>> load_hf_bpe_tokenizer(const std::string& path,
                                                                        int vocab_size) {
  return load_hf_tokenizer(path, vocab_size);
}
inline absl::StatusOr<std::unique_ptr<tokenizer>> parse_hf_bpe_tokenizer(std::string_view json,
                                                                         const std::string& origin,
                                                                         int vocab_size) {
  return parse_hf_tokenizer(json, origin, vocab_size);
}

// Reads a whole file (tokenizer files are small); NotFound "tokenizer not found: PATH".
absl::StatusOr<std::string> read_tokenizer_file(const std::string& path);

}  // namespace alisa::model
