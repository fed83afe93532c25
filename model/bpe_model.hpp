#pragma once
// bpe_model — a BPE vocabulary with its merge ranks, built from plain vocab + merge lists so that
// every source (tokenizer.json, a GGUF "gpt2" vocabulary) shares one construction and one encoder.
// Two spellings of a word are supported:
//   byte_level:  GPT-2 style; each raw byte is one symbol spelled by byte_level.hpp's map.
//   otherwise:   SentencePiece style; each code point is one symbol looked up as UTF-8. A code
//                point missing from the vocab becomes its "<0xHH>" byte tokens (byte_fallback),
//                else the unk token (consecutive unks fused into one when fuse_unk), else is
//                dropped (a vocab without unk cannot say anything better).
// Merges apply lowest rank first, leftmost on ties (Hugging Face's BPE). Immutable after build;
// safe to share between threads.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "model/bpe_merge.hpp"
#include "model/piece_map.hpp"

namespace alisa::model {

struct bpe_model_options {
  bool byte_level = false;
  bool byte_fallback = false;  // unknown code points -> "<0xHH>" tokens (non byte-level only)
  bool fuse_unk = false;       // consecutive unknown code points -> one unk
  bool ignore_merges = false;  // Llama-3: a word that is a whole vocab entry skips merging
  int unk_id = -1;             // -1: none
};

class bpe_model {
 public:
  // `vocab`: (piece, id) in the model's spelling; `merges`: (left, right) in rank order.
  // `origin` and `merges_field` name the source in errors ("f.gguf", "tokenizer.ggml.merges").
  // A merge whose parts or result are not in the vocab is an error; the earliest duplicate wins.
  static absl::StatusOr<bpe_model> build(std::vector<std::pair<std::string, int>> vocab,
                                         const std::vector<std::pair<std::string, std::string>>& merges,
                                         const bpe_model_options& options, const std::string& origin,
                                         const std::string& merges_field);

  // Appends the ids of one pre-tokenized word, given as raw text (UTF-8 bytes; byte-level models
  // spell the bytes themselves).
  void encode_word(std::string_view word, std::vector<int>& out) const;

  const piece_map& vocab() const { return vocab_; }
  const bpe_model_options& options() const { return options_; }
  int max_id() const { return max_id_; }

 private:
  static std::uint64_t pair_key(int left, int right);
  void index_bytes();
  std::vector<int> initial_symbols(std::string_view word) const;
  void push_unknown(std::string_view character, bool& last_was_unk, std::vector<int>& symbols) const;

  piece_map vocab_;
  std::unordered_map<std::uint64_t, bpe_candidate> merges_;  // (left, right) -> -rank, result
  bpe_model_options options_;
  std::array<int, 256> byte_ids_{};  // byte-level: the byte's symbol; else its "<0xHH>" id; -1 none
  int max_id_ = -1;
};

}  // namespace alisa::model
