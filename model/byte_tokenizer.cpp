// byte_tokenizer.cpp — the tokenizer of synthetic (random-weight) models. Layout, like the
// SentencePiece byte fallback: 0 unk, bos_id, eos_id (1 and 2 by default), byte b -> id b + 3.
#include <string>

#include "model/tokenizer.hpp"

namespace alisa::model {
namespace {

constexpr int kFirstByteId = 3;
constexpr int kByteIdsEnd = kFirstByteId + 256;  // 259: first id past the byte range
constexpr int kPrintableCount = 95;              // ' ' .. '~'

class byte_tokenizer final : public tokenizer {
 public:
  byte_tokenizer(int vocab_size, int bos_id, int eos_id)
      : vocab_size_(vocab_size), bos_id_(bos_id), eos_id_(eos_id) {}

  std::string name() const override { return "byte"; }
  int vocab_size() const override { return vocab_size_; }
  int bos_id() const override { return bos_id_; }
  int eos_id() const override { return eos_id_; }

  std::vector<int> encode(std::string_view text, bool add_bos) const override {
    std::vector<int> out;
    out.reserve(text.size() + 1);
    if (add_bos && bos_id_ >= 0) out.push_back(bos_id_);
    for (char c : text) out.push_back(byte_id(static_cast<unsigned char>(c)));
    return out;
  }

  std::string token_bytes(int /*previous*/, int id) const override {
    if (id < kFirstByteId || id >= vocab_size_ || id == bos_id_ || id == eos_id_) return {};
    if (id < kByteIdsEnd) {
      // Lossy vocabularies (< 259 ids) fold bytes together; decode as the smallest such byte.
      return std::string(1, static_cast<char>(id - kFirstByteId));
    }
    // Ids past the byte range have no text; a random-weight model samples them all the time, so
    // they show as a printable ASCII character instead of vanishing.
    return std::string(1, static_cast<char>(' ' + (id - kByteIdsEnd) % kPrintableCount));
  }

 private:
  int byte_id(unsigned char b) const {
    if (vocab_size_ >= kByteIdsEnd) return kFirstByteId + b;
    if (vocab_size_ > kFirstByteId) return kFirstByteId + b % (vocab_size_ - kFirstByteId);
    return 0;  // no room for bytes at all: everything is unk
  }

  int vocab_size_;
  int bos_id_;
  int eos_id_;
};

}  // namespace

std::unique_ptr<tokenizer> make_byte_tokenizer(int vocab_size, int bos_id, int eos_id) {
  return std::make_unique<byte_tokenizer>(vocab_size, bos_id, eos_id);
}

}  // namespace alisa::model
