#pragma once
// hf_pre_tokenizer — the `pre_tokenizer` block of a Hugging Face tokenizer.json: how a section of
// (normalized) text is cut into words before the model sees them. Supported steps, applied in
// order (a Sequence lists several):
//   ByteLevel       add_prefix_space (a ' ' before a word that lacks one) and, with use_regex,
//                   GPT-2's split; it also marks the tokenizer byte-level (the model then spells
//                   bytes with byte_level.hpp's map).
//   Split           only the regexes pretokenizer.hpp implements (GPT-2, Llama-3, Qwen2).
//   Metaspace       see metaspace.hpp.
//   WhitespaceSplit cut at Unicode whitespace, dropping it.
//   null            the whole section is one word (Llama-2's legacy files).
// Anything else (Whitespace, Punctuation, Digits, BertPreTokenizer, other Split patterns) is
// Unimplemented, naming the type, so load_tokenizer can fall back to a sibling tokenizer.model.
// Immutable after parsing.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "absl/status/statusor.h"
#include "model/metaspace.hpp"
#include "model/pretokenizer.hpp"

namespace alisa::model {

class hf_pre_tokenizer {
 public:
  enum class kind { byte_level_prefix, regex, metaspace, whitespace_split };
  struct step {
    kind what = kind::regex;
    split_rule rule;              // regex
    metaspace_options metaspace;  // metaspace

    static step of(kind k) { return step{k, split_rule{}, metaspace_options{}}; }
    static step split(split_rule r) { return step{kind::regex, r, metaspace_options{}}; }
    static step meta(metaspace_options m) { return step{kind::metaspace, split_rule{}, std::move(m)}; }
  };

  hf_pre_tokenizer() = default;
  hf_pre_tokenizer(std::vector<step> steps, bool byte_level)
      : steps_(std::move(steps)), byte_level_(byte_level) {}

  // `first_section`: the text starts the input (Metaspace's "first" scheme needs to know).
  std::vector<std::string> apply(std::string_view section, bool first_section) const;
  bool byte_level() const { return byte_level_; }

 private:
  std::vector<step> steps_;
  bool byte_level_ = false;
};

// Parses tokenizer.json's "pre_tokenizer" value (null -> one word per section).
absl::StatusOr<hf_pre_tokenizer> parse_hf_pre_tokenizer(const nlohmann::json& j, const std::string& origin);

// The split a regex (tokenizer.json Split pattern) stands for, when pretokenizer.hpp has it.
std::optional<split_rule> recognise_split_regex(std::string_view regex);

}  // namespace alisa::model
