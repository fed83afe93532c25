#include "model/hf_tokenizer.hpp"

#include <algorithm>

#include "model/byte_level.hpp"

namespace alisa::model {
namespace {

// Every (piece, id) of the model, spelled as the model spells it.
std::vector<std::pair<std::string_view, int>> model_pieces(const hf_tokenizer_parts& parts) {
  std::vector<std::pair<std::string_view, int>> out;
  if (const auto* bpe = std::get_if<bpe_model>(&parts.model)) {
    for (const auto& [piece, id] : bpe->vocab()) out.emplace_back(piece, id);
  } else {
    const auto& pieces = std::get<unigram_model>(parts.model).pieces();
    for (std::size_t id = 0; id < pieces.size(); ++id) out.emplace_back(pieces[id], static_cast<int>(id));
  }
  return out;
}

// The added tokens matched in the raw text (pass 1) or in the normalized text (pass 2). With an
// identity normalizer both texts are the same, and one pass over all tokens lets the longest
// match win across both kinds; otherwise normalized=true tokens wait for pass 2, matched by their
// normalized content, as Hugging Face does.
std::vector<hf_added_token> select_added(const hf_tokenizer_parts& parts, bool second_pass) {
  std::vector<hf_added_token> out;
  const bool one_pass = parts.normalizer.is_identity();
  for (const auto& token : parts.added) {
    const bool in_second = !one_pass && token.normalized;
    if (in_second != second_pass) continue;
    out.push_back(token);
    if (in_second) out.back().content = parts.normalizer.apply(token.content);
  }
  return out;
}

class hf_tokenizer final : public tokenizer {
 public:
  explicit hf_tokenizer(hf_tokenizer_parts parts)
      : parts_(std::move(parts)),
        raw_matcher_(select_added(parts_, false)),
        normalized_matcher_(select_added(parts_, true)) {
    build_surfaces();
  }

  std::string name() const override { return parts_.name; }
  int vocab_size() const override { return static_cast<int>(surfaces_.size()); }
  int bos_id() const override { return parts_.bos; }
  int eos_id() const override { return parts_.eos; }

  std::vector<int> encode(std::string_view text, bool add_bos) const override {
    std::vector<int> out;
    if (add_bos && parts_.bos >= 0) out.push_back(parts_.bos);
    for (const text_section& section : raw_matcher_.split(text)) {
      if (section.token_id >= 0) {
        out.push_back(section.token_id);
      } else {
        encode_plain(section.text, section.text.data() == text.data(), out);
      }
    }
    return out;
  }

  std::string token_bytes(int previous, int id) const override {
    if (id < 0 || id >= vocab_size()) return {};
    const bool first = previous < 0 || (previous == parts_.bos && parts_.bos >= 0);
    return first ? first_surfaces_[id] : surfaces_[id];
  }

 private:
  // Plain text between raw-matched added tokens; `first`: it starts the input.
  void encode_plain(std::string_view raw, bool first, std::vector<int>& out) const {
    const std::string normalized = parts_.normalizer.apply(raw);
    for (const text_section& section : normalized_matcher_.split(normalized)) {
      if (section.token_id >= 0) {
        out.push_back(section.token_id);
        continue;
      }
      const bool starts_input = first && section.text.data() == normalized.data();
      for (const auto& word : parts_.pre_tokenizer.apply(section.text, starts_input)) encode_word(word, out);
    }
  }

  void encode_word(std::string_view word, std::vector<int>& out) const {
    std::visit([&](const auto& model) { model.encode_word(word, out); }, parts_.model);
  }

  void build_surfaces() {
    const int count = hf_max_id(parts_) + 1;
    surfaces_.assign(static_cast<std::size_t>(std::max(count, 0)), std::string());
    first_surfaces_ = surfaces_;
    const auto* bpe = std::get_if<bpe_model>(&parts_.model);
    const bool byte_level = bpe != nullptr && bpe->options().byte_level;
    for (const auto& [piece, id] : model_pieces(parts_)) {
      if (byte_level) {
        surfaces_[id] = first_surfaces_[id] = byte_level::decode(piece);
      } else {
        surfaces_[id] = parts_.decoder.surface(piece, false);
        first_surfaces_[id] = parts_.decoder.surface(piece, true);
      }
    }
    for (const auto& token : parts_.added)
      surfaces_[token.id] = first_surfaces_[token.id] = token.special ? "" : token.content;
  }

  hf_tokenizer_parts parts_;
  token_matcher raw_matcher_;
  token_matcher normalized_matcher_;
  std::vector<std::string> surfaces_;        // id -> bytes
  std::vector<std::string> first_surfaces_;  // id -> bytes when it starts the sequence
};

}  // namespace

int hf_max_id(const hf_tokenizer_parts& parts) {
  int max_id = -1;
  if (const auto* bpe = std::get_if<bpe_model>(&parts.model)) {
    max_id = bpe->max_id();
  } else {
    max_id = static_cast<int>(std::get<unigram_model>(parts.model).pieces().size()) - 1;
  }
  for (const auto& token : parts.added) max_id = std::max(max_id, token.id);
  return max_id;
}

std::optional<int> hf_token_id(const hf_tokenizer_parts& parts, std::string_view content) {
  for (const auto& token : parts.added) {
    if (token.content == content) return token.id;
  }
  if (const auto* bpe = std::get_if<bpe_model>(&parts.model)) {
    if (auto it = bpe->vocab().find(content); it != bpe->vocab().end()) return it->second;
    return std::nullopt;
  }
  const auto& pieces = std::get<unigram_model>(parts.model).pieces();
  auto it = std::find(pieces.begin(), pieces.end(), content);
  if (it == pieces.end()) return std::nullopt;
  return static_cast<int>(it - pieces.begin());
}

std::unique_ptr<tokenizer> make_hf_tokenizer(hf_tokenizer_parts parts) {
  return std::make_unique<hf_tokenizer>(std::move(parts));
}

}  // namespace alisa::model
