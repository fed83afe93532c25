// sentencepiece_tokenizer.cpp — SentencePiece .model files through libsentencepiece. Encoding is
// the library's; token_bytes is precomputed per id so decoding never calls into it.
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "model/sentencepiece_backend.hpp"
#include "model/special_pieces.hpp"
#include "model/tokenizer_formats.hpp"

namespace alisa::model {
namespace {

constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";  // U+2581 "▁", SentencePiece's space

std::string unescape_spaces(std::string_view piece) {
  std::string out;
  out.reserve(piece.size());
  while (!piece.empty()) {
    if (piece.substr(0, kSpaceSymbol.size()) == kSpaceSymbol) {
      out.push_back(' ');
      piece.remove_prefix(kSpaceSymbol.size());
    } else {
      out.push_back(piece.front());
      piece.remove_prefix(1);
    }
  }
  return out;
}

class sentencepiece_tokenizer final : public tokenizer {
 public:
  explicit sentencepiece_tokenizer(std::unique_ptr<sentencepiece_backend> sp) : sp_(std::move(sp)) {
    const int n = sp_->piece_count();
    bytes_.resize(n);
    for (int id = 0; id < n; ++id) bytes_[id] = surface(id);
    // Whether the model adds a dummy prefix (Llama's does): encoding "a" then starts with "▁".
    const auto probe = sp_->encode("a");
    dummy_prefix_ = !probe.empty() && sp_->piece(probe.front()).starts_with(kSpaceSymbol);
  }

  std::string name() const override { return "sentencepiece"; }
  int vocab_size() const override { return sp_->piece_count(); }
  int bos_id() const override { return sp_->bos_id(); }
  int eos_id() const override { return sp_->eos_id(); }

  std::vector<int> encode(std::string_view text, bool add_bos) const override {
    std::vector<int> out;
    if (add_bos && bos_id() >= 0) out.push_back(bos_id());
    const auto ids = sp_->encode(text);
    out.insert(out.end(), ids.begin(), ids.end());
    return out;
  }

  std::string token_bytes(int previous, int id) const override {
    if (id < 0 || id >= static_cast<int>(bytes_.size())) return {};
    const std::string& bytes = bytes_[id];
    // Like SentencePiece's Decode: the first piece of a sequence loses the dummy-prefix space.
    const bool at_start = previous < 0 || previous == bos_id();
    if (dummy_prefix_ && at_start && !sp_->is_byte(id) && !bytes.empty() && bytes.front() == ' ')
      return bytes.substr(1);
    return bytes;
  }

 private:
  // The text a piece stands for: nothing for control/unknown pieces, the raw byte for "<0xHH>".
  std::string surface(int id) const {
    if (sp_->is_control(id) || sp_->is_unknown(id)) return {};
    const std::string piece = sp_->piece(id);
    if (sp_->is_byte(id)) {
      if (auto b = byte_piece_value(piece)) return std::string(1, static_cast<char>(*b));
    }
    return unescape_spaces(piece);
  }

  std::unique_ptr<sentencepiece_backend> sp_;
  std::vector<std::string> bytes_;
  bool dummy_prefix_ = true;
};

}  // namespace

absl::StatusOr<std::unique_ptr<tokenizer>> load_sentencepiece_tokenizer(const std::string& path,
                                                                        int vocab_size) {
  auto data = read_tokenizer_file(path);
  if (!data.ok()) return data.status();
  auto sp = std::make_unique<sentencepiece_backend>();
  if (std::string error = sp->load_serialized(*data); !error.empty())
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a SentencePiece model (", error, ")"));
  const int count = sp->piece_count();
  if (vocab_size > 0 && count > vocab_size)
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": tokenizer has ", count, " tokens, model expects ", vocab_size));
  return std::unique_ptr<tokenizer>(std::make_unique<sentencepiece_tokenizer>(std::move(sp)));
}

}  // namespace alisa::model
