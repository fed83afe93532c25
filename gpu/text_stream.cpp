#include "gpu/text_stream.hpp"

#include <algorithm>

namespace alisa::gpu {

text_stream::text_stream(const sampling_params& params, text_callback on_text)
    : stops_(params.stop), on_text_(std::move(on_text)) {}

bool text_stream::add(std::string_view bytes) {
  text_ += utf8_.push(bytes);
  for (const auto& stop : stops_) {
    const size_t at = text_.find(stop, emitted_);  // emitted text holds no stop prefix
    if (at != std::string::npos) {
      text_.resize(at);
      emit(text_.size());
      return true;
    }
  }
  emit(text_.size() - stop_holdback(text_, stops_));
  return false;
}

std::string text_stream::finish() {
  text_ += utf8_.flush();
  emit(text_.size());
  return text_;
}

void text_stream::emit(size_t upto) {
  if (upto > emitted_ && on_text_)
    on_text_(std::string_view(text_).substr(emitted_, upto - emitted_));
  emitted_ = std::max(emitted_, upto);
}

size_t stop_holdback(std::string_view text, const std::vector<std::string>& stops) {
  size_t hold = 0;
  for (const auto& stop : stops) {
    const size_t longest = std::min(text.size(), stop.size() - 1);
    for (size_t len = longest; len > hold; --len)
      if (text.substr(text.size() - len) == std::string_view(stop).substr(0, len)) {
        hold = len;
        break;
      }
  }
  return hold;
}

}  // namespace alisa::gpu
