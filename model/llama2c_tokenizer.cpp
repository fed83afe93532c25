// llama2c_tokenizer.cpp — Karpathy's llama2.c tokenizer.bin: int32 max_token_length, then one
// record per id (float32 score, int32 length, raw bytes). SentencePiece conventions: 0 <unk>,
// 1 BOS, 2 EOS, 3..258 "<0xHH>" byte fallback, "▁" already replaced by a space.
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "model/bpe_merge.hpp"
#include "model/special_pieces.hpp"
#include "model/tokenizer_formats.hpp"
#include "model/utf8.hpp"

namespace alisa::model {
namespace {

// Transparent hash so lookups by string_view need no temporary std::string.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using piece_map = std::unordered_map<std::string, int, string_hash, std::equal_to<>>;

struct llama2c_vocab {
  std::vector<std::string> pieces;
  std::vector<float> scores;
};

constexpr int kUnkId = 0;
constexpr int kBosId = 1;
constexpr int kEosId = 2;
constexpr int kMaxSaneTokenLength = 1 << 16;

template <typename T>
T read_le(const std::string& data, std::size_t offset) {
  T value;
  std::memcpy(&value, data.data() + offset, sizeof(T));  // x86/ARM hosts are little-endian
  return value;
}

// Parses every record in the file; the caller compares the count with the model's vocab size, so
// a file for another vocabulary is reported as such rather than as garbage.
absl::StatusOr<llama2c_vocab> parse_llama2c(const std::string& path, const std::string& data) {
  if (data.size() < 4) return absl::InvalidArgumentError(path + ": truncated tokenizer header");
  const auto max_len = read_le<std::int32_t>(data, 0);
  if (max_len <= 0 || max_len > kMaxSaneTokenLength)
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": invalid max_token_length ", max_len));
  llama2c_vocab vocab;
  std::size_t offset = 4;
  while (offset < data.size()) {
    const std::size_t id = vocab.pieces.size();
    if (data.size() - offset < 8)
      return absl::InvalidArgumentError(absl::StrCat(path, ": truncated at token ", id));
    const auto score = read_le<float>(data, offset);
    const auto len = read_le<std::int32_t>(data, offset + 4);
    offset += 8;
    if (len < 0)
      return absl::InvalidArgumentError(absl::StrCat(path, ": token ", id, " has negative length ", len));
    if (len > max_len)
      return absl::InvalidArgumentError(absl::StrCat(path, ": token ", id, " length ", len,
                                                     " exceeds max_token_length ", max_len));
    if (data.size() - offset < static_cast<std::size_t>(len))
      return absl::InvalidArgumentError(absl::StrCat(path, ": truncated at token ", id));
    vocab.pieces.emplace_back(data, offset, static_cast<std::size_t>(len));
    vocab.scores.push_back(score);
    offset += static_cast<std::size_t>(len);
  }
  return vocab;
}

class llama2c_tokenizer final : public tokenizer {
 public:
  explicit llama2c_tokenizer(llama2c_vocab vocab) : vocab_(std::move(vocab)) { index(); }

  std::string name() const override { return "llama2c"; }
  int vocab_size() const override { return static_cast<int>(vocab_.pieces.size()); }
  int bos_id() const override { return vocab_size() > kBosId ? kBosId : -1; }
  int eos_id() const override { return vocab_size() > kEosId ? kEosId : -1; }

  std::vector<int> encode(std::string_view text, bool add_bos) const override {
    std::vector<int> out;
    if (add_bos && bos_id() >= 0) out.push_back(bos_id());
    if (text.empty()) return out;
    std::vector<int> symbols = initial_symbols(text);
    auto lookup = [this](int left, int right) { return merge_of(left, right); };
    std::vector<int> merged = bpe_merge(std::move(symbols), lookup);
    out.insert(out.end(), merged.begin(), merged.end());
    return out;
  }

  std::string token_bytes(int previous, int id) const override {
    if (id < 0 || id >= vocab_size() || id == kUnkId || id == kBosId || id == kEosId) return {};
    if (byte_value_[id] >= 0) return std::string(1, static_cast<char>(byte_value_[id]));
    std::string_view piece = vocab_.pieces[id];
    // The encoder's dummy prefix: the first piece of a text carries a space that is not text.
    if ((previous < 0 || previous == kBosId) && !piece.empty() && piece.front() == ' ')
      piece.remove_prefix(1);
    return std::string(piece);
  }

 private:
  void index() {
    const int n = vocab_size();
    byte_value_.assign(n, -1);
    byte_id_.fill(kUnkId);
    for (int id = 0; id < n; ++id) {
      if (id <= kEosId) continue;  // specials never match text
      if (auto b = byte_piece_value(vocab_.pieces[id])) {
        byte_value_[id] = *b;
        byte_id_[*b] = id;
        continue;  // byte pieces stand for one byte, not for the text "<0x41>"
      }
      if (!vocab_.pieces[id].empty()) lookup_.emplace(vocab_.pieces[id], id);  // first id wins
    }
  }

  // Dummy prefix + one symbol per UTF-8 character, or per byte for characters not in the vocab.
  std::vector<int> initial_symbols(std::string_view text) const {
    std::string padded;
    padded.reserve(text.size() + 1);
    padded.push_back(' ');  // SentencePiece add_dummy_prefix
    padded.append(text);
    std::vector<int> symbols;
    symbols.reserve(padded.size());
    std::size_t pos = 0;
    while (pos < padded.size()) {
      char32_t cp;
      const std::size_t len = utf8::decode(padded, pos, cp);
      const std::string_view ch(padded.data() + pos, len);
      if (auto it = lookup_.find(ch); it != lookup_.end()) {
        symbols.push_back(it->second);
      } else {
        for (char c : ch) symbols.push_back(byte_id_[static_cast<unsigned char>(c)]);
      }
      pos += len;
    }
    return symbols;
  }

  std::optional<bpe_candidate> merge_of(int left, int right) const {
    if (byte_value_[left] >= 0 || byte_value_[right] >= 0 || left <= kEosId || right <= kEosId)
      return std::nullopt;
    thread_local std::string joined;  // reused: encode may run on many threads at once
    joined.assign(vocab_.pieces[left]);
    joined.append(vocab_.pieces[right]);
    auto it = lookup_.find(std::string_view(joined));
    if (it == lookup_.end()) return std::nullopt;
    return bpe_candidate{vocab_.scores[it->second], it->second};
  }

  llama2c_vocab vocab_;
  piece_map lookup_;
  std::vector<int> byte_value_;       // id -> byte for "<0xHH>" pieces, else -1
  std::array<int, 256> byte_id_{};    // byte -> its fallback id (unk when the vocab lacks it)
};

}  // namespace

absl::StatusOr<std::unique_ptr<tokenizer>> make_llama2c_tokenizer(
    std::vector<std::string> pieces, std::vector<float> scores, const std::string& origin,
    int vocab_size) {
  const auto count = static_cast<int>(pieces.size());
  if (scores.size() != pieces.size())
    return absl::InvalidArgumentError(absl::StrCat(origin, ": ", count, " tokens but ",
                                                   scores.size(), " scores"));
  if (vocab_size > 0 && count != vocab_size)
    return absl::InvalidArgumentError(
        absl::StrCat(origin, ": tokenizer has ", count, " tokens, model expects ", vocab_size));
  if (count <= kEosId) return absl::InvalidArgumentError(absl::StrCat(origin, ": tokenizer has only ", count, " tokens"));
  return std::unique_ptr<tokenizer>(
      std::make_unique<llama2c_tokenizer>(llama2c_vocab{std::move(pieces), std::move(scores)}));
}

absl::StatusOr<std::unique_ptr<tokenizer>> load_llama2c_tokenizer(const std::string& path,
                                                                  int vocab_size) {
  auto data = read_tokenizer_file(path);
  if (!data.ok()) return data.status();
  auto vocab = parse_llama2c(path, *data);
  if (!vocab.ok()) return vocab.status();
  const auto count = static_cast<int>(vocab->pieces.size());
  if (vocab_size > 0 && count != vocab_size)
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": tokenizer has ", count, " tokens, model expects ", vocab_size));
  if (count <= kEosId) return absl::InvalidArgumentError(absl::StrCat(path, ": tokenizer has only ", count, " tokens"));
  return std::unique_ptr<tokenizer>(std::make_unique<llama2c_tokenizer>(std::move(*vocab)));
}

}  // namespace alisa::model
