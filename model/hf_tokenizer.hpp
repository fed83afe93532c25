#pragma once
// hf_tokenizer — the Hugging Face tokenizers pipeline, independent of where its parts came from
// (tokenizer.json in bpe_tokenizer.cpp, a GGUF "gpt2" vocabulary in gguf_tokenizer.cpp):
//
//   text ─ added tokens (normalized=false, raw text) ─┬─ token ids
//                                                     └─ plain text ─ normalizer ─ added tokens
//        (normalized=true) ─ pre-tokenizer ─ words ─ model (BPE or Unigram) ─ ids
//
// Decoding is per token (tokenizer::token_bytes): byte-level BPE ids through GPT-2's byte map;
// others through the decoder (hf_decoder.hpp). Special added tokens decode to nothing, other added
// tokens to their content. Immutable after construction; safe to share between threads.
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "model/bpe_model.hpp"
#include "model/hf_added_tokens.hpp"
#include "model/hf_decoder.hpp"
#include "model/hf_normalizer.hpp"
#include "model/hf_pre_tokenizer.hpp"
#include "model/tokenizer.hpp"
#include "model/unigram_model.hpp"

namespace alisa::model {

struct hf_tokenizer_parts {
  std::string name;  // tokenizer::name(): "hf-bpe", "hf-unigram"
  std::variant<bpe_model, unigram_model> model;
  hf_normalizer normalizer;
  hf_pre_tokenizer pre_tokenizer;  // byte_level() must agree with a BPE model's byte_level option
  hf_decoder decoder;
  std::vector<hf_added_token> added;
  int bos = -1;
  int eos = -1;
};

// The largest id the parts use (model vocab and added tokens); -1 when there is none.
int hf_max_id(const hf_tokenizer_parts& parts);
// Whether `content` names an added token or a model piece, and its id.
std::optional<int> hf_token_id(const hf_tokenizer_parts& parts, std::string_view content);

std::unique_ptr<tokenizer> make_hf_tokenizer(hf_tokenizer_parts parts);

}  // namespace alisa::model
