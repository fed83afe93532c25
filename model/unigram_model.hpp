#pragma once
// unigram_model — SentencePiece's Unigram language model as Hugging Face's tokenizer.json stores
// it (`"type": "Unigram"`, `vocab: [[piece, log_prob], ...]`, ids in list order, `unk_id`,
// `byte_fallback`). A word is segmented by Viterbi: among all segmentations into vocab pieces the
// one with the largest sum of scores wins (not greedy longest match). A code point that no piece
// starts with gets the unk piece at score min_score - 10 (SentencePiece's kUnkPenalty), so unknown
// text is covered but never preferred. Consecutive unknowns come out as ONE unk (Hugging Face
// fuses them); with byte_fallback the fused unknown text becomes its "<0xHH>" byte tokens instead
// (unk when a byte token is missing). Ties keep the path found first: earlier start, then shorter
// piece, as Hugging Face's encoder does.
// Immutable after build; safe to share between threads.
#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "model/piece_map.hpp"

namespace alisa::model {

class unigram_model {
 public:
  // `pieces`: (piece, score) with id = index. unk_id < 0: none (then unknown text is an encode
  // that drops it, and a vocab needing unk should say so). `origin` names the source in errors.
  static absl::StatusOr<unigram_model> build(std::vector<std::pair<std::string, double>> pieces,
                                             int unk_id, bool byte_fallback, const std::string& origin);

  // Appends the ids of one pre-tokenized (normalized) word.
  void encode_word(std::string_view word, std::vector<int>& out) const;

  const std::vector<std::string>& pieces() const { return pieces_; }
  int unk_id() const { return unk_id_; }
  bool byte_fallback() const { return byte_fallback_; }

 private:
  struct lattice_node {
    double score = 0;  // best total score of text[0, end)
    int start = -1;    // byte where the last piece of that best path starts; -1: unreachable
    int id = -1;       // that piece
  };
  std::vector<lattice_node> viterbi(std::string_view word) const;
  void emit(std::string_view piece_text, int id, std::vector<int>& out) const;

  std::vector<std::string> pieces_;
  std::vector<double> scores_;
  piece_map lookup_;
  std::array<int, 256> byte_ids_{};  // "<0xHH>" ids; -1 when absent
  std::size_t max_piece_bytes_ = 0;
  double unk_score_ = 0;
  int unk_id_ = -1;
  bool byte_fallback_ = false;
};

}  // namespace alisa::model
