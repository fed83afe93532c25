#pragma once
// metaspace — SentencePiece's visible space as Hugging Face's Metaspace pre-tokenizer applies it:
// every ' ' becomes the replacement ("▁" U+2581), a replacement is prepended to a section that
// does not already start with one (prepend_scheme "always": every section; "first": only the
// section at the very start of the input, not text after an added token; "never": none), and with
// split=true the text is cut before every replacement ("▁Hey▁▁you" -> "▁Hey", "▁", "▁you").
// Legacy files say add_prefix_space true/false instead of a scheme: "always"/"never".
// Note the "does not already start" rule: " Hi" gives "▁Hi", where SentencePiece's dummy prefix
// gives "▁▁Hi" (a known difference between the two libraries, kept to match Hugging Face).
#include <string>
#include <string_view>
#include <vector>

namespace alisa::model {

struct metaspace_options {
  enum class prepend { always, first, never };
  std::string replacement = "\xE2\x96\x81";
  prepend scheme = prepend::always;
  bool split = true;
};

// `first_section`: the text starts at the start of the input (nothing was cut off before it).
std::vector<std::string> metaspace_pre_tokenize(std::string_view text, const metaspace_options& options,
                                                bool first_section);

}  // namespace alisa::model
