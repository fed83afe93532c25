#include "model/unigram_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "model/utf8.hpp"

namespace alisa::model {
namespace {

constexpr double kUnkPenalty = 10.0;  // SentencePiece's: unknown text scores below every piece

}  // namespace

absl::StatusOr<unigram_model> unigram_model::build(std::vector<std::pair<std::string, double>> pieces,
                                                   int unk_id, bool byte_fallback,
                                                   const std::string& origin) {
  if (pieces.empty()) return absl::InvalidArgumentError(absl::StrCat(origin, ": model.vocab is empty"));
  if (unk_id >= static_cast<int>(pieces.size()))
    return absl::InvalidArgumentError(absl::StrCat(origin, ": model.unk_id ", unk_id,
                                                   " is outside the vocab (", pieces.size(), " pieces)"));
  unigram_model model;
  model.unk_id_ = unk_id;
  model.byte_fallback_ = byte_fallback;
  double min_score = pieces.front().second;
  for (std::size_t id = 0; id < pieces.size(); ++id) {
    auto& [piece, score] = pieces[id];
    if (!std::isfinite(score))
      return absl::InvalidArgumentError(absl::StrCat(origin, ": model.vocab[", id, "] has a non-finite score"));
    min_score = std::min(min_score, score);
    model.max_piece_bytes_ = std::max(model.max_piece_bytes_, piece.size());
    model.lookup_.try_emplace(piece, static_cast<int>(id));  // the first of duplicates wins
    model.pieces_.push_back(std::move(piece));
    model.scores_.push_back(score);
  }
  model.unk_score_ = min_score - kUnkPenalty;
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
    auto it = model.lookup_.find(std::string_view(buf));
    model.byte_ids_[b] = it != model.lookup_.end() ? it->second : -1;
  }
  return model;
}

// nodes[e] is the best segmentation of word[0, e); only code-point boundaries are reachable.
// Why this loop order: starts ascending, pieces by increasing length, replace only when strictly
// better — the tie-breaking of Hugging Face's Unigram encoder.
std::vector<unigram_model::lattice_node> unigram_model::viterbi(std::string_view word) const {
  std::vector<lattice_node> nodes(word.size() + 1);
  nodes[0].start = 0;
  auto offer = [&](std::size_t begin, std::size_t end, double score, int id) {
    const double total = nodes[begin].score + score;
    if (nodes[end].start < 0 || total > nodes[end].score) nodes[end] = {total, static_cast<int>(begin), id};
  };
  std::size_t begin = 0;
  while (begin < word.size()) {
    char32_t cp;
    const std::size_t char_len = utf8::decode(word, begin, cp);
    if (nodes[begin].start >= 0) {
      bool single_char_piece = false;
      std::size_t end = begin;
      while (end < word.size() && end - begin < max_piece_bytes_) {
        end += utf8::decode(word, end, cp);
        if (end - begin > max_piece_bytes_) break;
        auto it = lookup_.find(word.substr(begin, end - begin));
        if (it == lookup_.end()) continue;
        offer(begin, end, scores_[it->second], it->second);
        single_char_piece = single_char_piece || end - begin == char_len;
      }
      if (!single_char_piece) offer(begin, begin + char_len, unk_score_, unk_id_);
    }
    begin += char_len;
  }
  return nodes;
}

// One piece of the best path; `id` -1 marks (fused) unknown text.
void unigram_model::emit(std::string_view piece_text, int id, std::vector<int>& out) const {
  if (id >= 0 && id != unk_id_) {
    out.push_back(id);
    return;
  }
  // Hugging Face looks the fused text up first (it is a piece when the text was the unk piece).
  if (auto it = lookup_.find(piece_text); it != lookup_.end()) {
    out.push_back(it->second);
    return;
  }
  if (byte_fallback_) {
    const bool all_bytes = std::all_of(piece_text.begin(), piece_text.end(), [&](char c) {
      return byte_ids_[static_cast<unsigned char>(c)] >= 0;
    });
    if (all_bytes) {
      for (char c : piece_text) out.push_back(byte_ids_[static_cast<unsigned char>(c)]);
      return;
    }
  }
  if (unk_id_ >= 0) out.push_back(unk_id_);
}

void unigram_model::encode_word(std::string_view word, std::vector<int>& out) const {
  if (word.empty()) return;
  const auto nodes = viterbi(word);
  // Walk back from the end, fusing runs of unknown pieces into one span.
  std::vector<std::pair<std::string_view, int>> path;
  std::size_t end = word.size();
  std::size_t unknown_end = 0;  // end of the unknown run being fused; 0 = none open
  while (end > 0) {
    const lattice_node& node = nodes[end];
    const auto start = static_cast<std::size_t>(node.start);
    const bool unknown = node.id < 0 || node.id == unk_id_;
    if (unknown) {
      if (unknown_end == 0) unknown_end = end;
    } else {
      if (unknown_end != 0) path.emplace_back(word.substr(end, unknown_end - end), -1);
      unknown_end = 0;
      path.emplace_back(word.substr(start, end - start), node.id);
    }
    end = start;
  }
  if (unknown_end != 0) path.emplace_back(word.substr(0, unknown_end), -1);
  for (auto it = path.rbegin(); it != path.rend(); ++it) emit(it->first, it->second, out);
}

}  // namespace alisa::model
