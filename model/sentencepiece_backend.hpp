#pragma once
// sentencepiece_backend — a thin wrapper over libsentencepiece kept free of Abseil types.
// Why: sentencepiece_processor.h declares `namespace absl { using std::string_view; }`, which
// clashes with Abseil's own absl::string_view class, so the two headers cannot share a file.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace alisa::model {

class sentencepiece_backend {
 public:
  sentencepiece_backend();
  ~sentencepiece_backend();
  sentencepiece_backend(const sentencepiece_backend&) = delete;
  sentencepiece_backend& operator=(const sentencepiece_backend&) = delete;

  // Loads a serialized ModelProto; returns an empty string on success, else the library's message.
  std::string load_serialized(std::string_view proto);

  std::vector<int> encode(std::string_view text) const;  // empty on failure
  int piece_count() const;
  int bos_id() const;  // -1 when the model has none
  int eos_id() const;
  std::string piece(int id) const;
  bool is_control(int id) const;
  bool is_unknown(int id) const;
  bool is_byte(int id) const;

 private:
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
};

}  // namespace alisa::model
