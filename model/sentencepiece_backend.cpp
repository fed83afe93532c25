// No Abseil header may be included here (see sentencepiece_backend.hpp).
#include "model/sentencepiece_backend.hpp"

#include <sentencepiece_processor.h>

namespace alisa::model {

sentencepiece_backend::sentencepiece_backend()
    : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {}
sentencepiece_backend::~sentencepiece_backend() = default;

std::string sentencepiece_backend::load_serialized(std::string_view proto) {
  const auto status = sp_->LoadFromSerializedProto(proto);
  if (status.ok()) return {};
  std::string message(status.message());
  for (char& c : message) {
    if (c == '\n' || c == '\r') c = ' ';  // callers promise one-line errors
  }
  return message.empty() ? "unknown error" : message;
}

std::vector<int> sentencepiece_backend::encode(std::string_view text) const {
  std::vector<int> ids;
  if (!sp_->Encode(text, &ids).ok()) ids.clear();
  return ids;
}

int sentencepiece_backend::piece_count() const { return sp_->GetPieceSize(); }
int sentencepiece_backend::bos_id() const { return sp_->bos_id(); }
int sentencepiece_backend::eos_id() const { return sp_->eos_id(); }
std::string sentencepiece_backend::piece(int id) const { return sp_->IdToPiece(id); }
bool sentencepiece_backend::is_control(int id) const { return sp_->IsControl(id); }
bool sentencepiece_backend::is_unknown(int id) const { return sp_->IsUnknown(id); }
bool sentencepiece_backend::is_byte(int id) const { return sp_->IsByte(id); }

}  // namespace alisa::model
