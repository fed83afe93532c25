#include "model/bpe_model.hpp"

#include <algorithm>
#include <cstdio>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "model/byte_level.hpp"
#include "model/utf8.hpp"

namespace alisa::model {

std::uint64_t bpe_model::pair_key(int left, int right) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
         static_cast<std::uint32_t>(right);
}

absl::StatusOr<bpe_model> bpe_model::build(
    std::vector<std::pair<std::string, int>> vocab,
    const std::vector<std::pair<std::string, std::string>>& merges, const bpe_model_options& options,
    const std::string& origin, const std::string& merges_field) {
  bpe_model model;
  model.options_ = options;
  model.vocab_.reserve(vocab.size());
  for (auto& [piece, id] : vocab) {
    model.max_id_ = std::max(model.max_id_, id);
    model.vocab_.emplace(std::move(piece), id);
  }
  model.merges_.reserve(merges.size());
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left_piece, right_piece] = merges[rank];
    auto left = model.vocab_.find(left_piece);
    auto right = model.vocab_.find(right_piece);
    auto merged = model.vocab_.find(left_piece + right_piece);
    if (left == model.vocab_.end() || right == model.vocab_.end() || merged == model.vocab_.end())
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ": ", merges_field, "[", rank, "] uses a token not in the vocab"));
    // try_emplace keeps the first: the earliest duplicate wins, as in Hugging Face.
    model.merges_.try_emplace(pair_key(left->second, right->second),
                              bpe_candidate{-static_cast<double>(rank), merged->second});
  }
  model.index_bytes();
  return model;
}

void bpe_model::index_bytes() {
  for (int b = 0; b < 256; ++b) {
    std::string spelled;
    if (options_.byte_level) {
      utf8::append(spelled, byte_level::byte_to_code_point(static_cast<unsigned char>(b)));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
      spelled = buf;
    }
    auto it = vocab_.find(spelled);
    byte_ids_[b] = it != vocab_.end() ? it->second : -1;
  }
}

void bpe_model::push_unknown(std::string_view character, bool& last_was_unk,
                             std::vector<int>& symbols) const {
  if (options_.byte_fallback) {
    const bool all_bytes = std::all_of(character.begin(), character.end(), [&](char c) {
      return byte_ids_[static_cast<unsigned char>(c)] >= 0;
    });
    if (all_bytes) {
      for (char c : character) symbols.push_back(byte_ids_[static_cast<unsigned char>(c)]);
      last_was_unk = false;
      return;
    }
  }
  if (options_.unk_id < 0) return;
  if (!(options_.fuse_unk && last_was_unk)) symbols.push_back(options_.unk_id);
  last_was_unk = true;
}

std::vector<int> bpe_model::initial_symbols(std::string_view word) const {
  std::vector<int> symbols;
  symbols.reserve(word.size());
  if (options_.byte_level) {
    for (char c : word) {
      const int id = byte_ids_[static_cast<unsigned char>(c)];
      if (id >= 0) {
        symbols.push_back(id);
      } else if (options_.unk_id >= 0) {
        symbols.push_back(options_.unk_id);
      }
    }
    return symbols;
  }
  bool last_was_unk = false;
  std::size_t pos = 0;
  while (pos < word.size()) {
    char32_t cp;
    const std::size_t len = utf8::decode(word, pos, cp);
    const std::string_view character = word.substr(pos, len);
    pos += len;
    if (auto it = vocab_.find(character); it != vocab_.end()) {
      symbols.push_back(it->second);
      last_was_unk = false;
    } else {
      push_unknown(character, last_was_unk, symbols);
    }
  }
  return symbols;
}

void bpe_model::encode_word(std::string_view word, std::vector<int>& out) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    const std::string spelled = options_.byte_level ? byte_level::encode(word) : std::string(word);
    if (auto it = vocab_.find(spelled); it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  auto lookup = [this](int left, int right) -> std::optional<bpe_candidate> {
    auto it = merges_.find(pair_key(left, right));
    if (it == merges_.end()) return std::nullopt;
    return it->second;
  };
  auto merged = bpe_merge(initial_symbols(word), lookup);
  out.insert(out.end(), merged.begin(), merged.end());
}

}  // namespace alisa::model
