#include "model/metaspace.hpp"

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"

namespace alisa::model {

namespace {

bool wants_prefix(const metaspace_options& options, bool first_section) {
  switch (options.scheme) {
    case metaspace_options::prepend::always: return true;
    case metaspace_options::prepend::first: return first_section;
    case metaspace_options::prepend::never: return false;
  }
  return false;
}

// Cuts before every occurrence of `mark` (Hugging Face's MergedWithNext split).
std::vector<std::string> split_before(const std::string& text, const std::string& mark) {
  std::vector<std::string> pieces;
  std::size_t start = 0;
  std::size_t found = text.find(mark, 1);  // a leading mark starts the first piece
  while (found != std::string::npos) {
    if (found > start) pieces.push_back(text.substr(start, found - start));
    start = found;
    found = text.find(mark, found + mark.size());
  }
  if (start < text.size()) pieces.push_back(text.substr(start));
  return pieces;
}

}  // namespace

std::vector<std::string> metaspace_pre_tokenize(std::string_view input, const metaspace_options& options,
                                                bool first_section) {
  if (input.empty()) return {};
  std::string text = absl::StrReplaceAll(absl::string_view(input.data(), input.size()),
                                         {{" ", options.replacement}});
  if (wants_prefix(options, first_section) && !absl::StartsWith(text, options.replacement))
    text.insert(0, options.replacement);
  if (!options.split || options.replacement.empty()) return {std::move(text)};
  return split_before(text, options.replacement);
}

}  // namespace alisa::model
