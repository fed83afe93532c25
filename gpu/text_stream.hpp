#pragma once
// text_stream — a sequence's generated text as it becomes final: decoded token bytes are
// reassembled into complete UTF-8, and a piece is streamed only once it cannot be the start of a
// stop string. Used by the step loop (engine/step_loop.hpp) for every job.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "model/tokenizer.hpp"
#include "proto/sampling_params.hpp"

namespace alisa::gpu {

using text_callback = std::function<void(std::string_view)>;

// Length of the longest suffix of `text` that is a proper prefix of some stop string: the bytes a
// streamer must hold back. Exposed for tests.
size_t stop_holdback(std::string_view text, const std::vector<std::string>& stops);

class text_stream {
 public:
  // Keeps its own copies of the stop strings and the callback.
  text_stream(const sampling_params& params, text_callback on_text);
  // Adds a token's bytes; returns true when a stop string has been completed (the text is then
  // cut before it and everything before it streamed).
  bool add(std::string_view bytes);
  // Flushes what is held back; returns the whole text.
  std::string finish();
  const std::string& text() const { return text_; }

 private:
  void emit(size_t upto);
  std::vector<std::string> stops_;
  text_callback on_text_;
  model::utf8_stream utf8_;
  std::string text_;
  size_t emitted_ = 0;
};

}  // namespace alisa::gpu
