// The tokenizer stored in a GGUF file (model/tokenizer_formats.hpp, load_gguf_tokenizer):
//   "llama": SentencePiece-style pieces and scores -> make_llama2c_tokenizer.
//   "gpt2":  byte-level BPE (tokens spelled with GPT-2's byte map, "left right" merges in rank
//            order, token types) -> the same bpe_model + hf_tokenizer a tokenizer.json builds.
//            tokenizer.ggml.pre names llama.cpp's split regex; only the ones pretokenizer.hpp
//            implements are accepted. llama.cpp's "default" is NOT GPT-2's regex (it splits
//            punctuation and digit triples differently), so it is refused like unknown names.
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "model/gguf.hpp"
#include "model/hf_tokenizer.hpp"
#include "model/mapped_file.hpp"
#include "model/tokenizer_formats.hpp"

namespace alisa::model {
namespace {

// llama_token_type in llama.cpp.
enum gguf_token_type : int64_t { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };

absl::Status invalid(const std::string& path, const std::string& problem) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", problem));
}

absl::StatusOr<std::vector<std::string>> string_array(const gguf_file& gguf, const std::string& key,
                                                      const std::string& path) {
  const gguf_value* value = gguf.find(key);
  if (!value || !value->is_array) return invalid(path, key + " is missing or not an array");
  std::vector<std::string> out;
  out.reserve(value->array.size());
  for (const auto& item : value->array) {
    const auto* s = std::get_if<std::string>(&item);
    if (!s) return invalid(path, key + " holds a non-string");
    out.push_back(*s);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<tokenizer>> llama_vocab(const gguf_file& gguf, const std::string& path,
                                                       int vocab_size) {
  auto tokens = string_array(gguf, "tokenizer.ggml.tokens", path);
  if (!tokens.ok()) return tokens.status();
  std::vector<std::string> pieces;
  pieces.reserve(tokens->size());
  for (const auto& s : *tokens)
    pieces.push_back(absl::StrReplaceAll(s, {{"\xe2\x96\x81", " "}}));  // SentencePiece's space mark
  std::vector<float> scores(pieces.size(), 0.0f);
  if (const gguf_value* sv = gguf.find("tokenizer.ggml.scores")) {
    if (!sv->is_array || sv->array.size() != pieces.size())
      return invalid(path, "tokenizer.ggml.scores does not match the tokens");
    for (size_t i = 0; i < scores.size(); ++i) {
      const auto* d = std::get_if<double>(&sv->array[i]);
      if (!d) return invalid(path, "tokenizer.ggml.scores holds a non-number");
      scores[i] = static_cast<float>(*d);
    }
  }
  return make_llama2c_tokenizer(std::move(pieces), std::move(scores), path, vocab_size);
}

// llama.cpp's tokenizer.ggml.pre names whose regex pretokenizer.hpp implements.
std::optional<split_rule> pre_split(std::string_view pre) {
  if (pre == "gpt-2" || pre == "phi-2") return split_rule{split_rule::family::gpt2, 0};
  if (pre == "llama3" || pre == "llama-v3" || pre == "llama-bpe") return split_rule{split_rule::family::llama3, 3};
  if (pre == "qwen2") return split_rule{split_rule::family::llama3, 1};
  return std::nullopt;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> gguf_merges(const gguf_file& gguf,
                                                                             const std::string& path) {
  auto lines = string_array(gguf, "tokenizer.ggml.merges", path);
  if (!lines.ok()) return lines.status();
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(lines->size());
  for (std::size_t rank = 0; rank < lines->size(); ++rank) {
    const std::string& line = (*lines)[rank];
    const auto space = line.find(' ', 1);
    if (space == std::string::npos)
      return invalid(path, absl::StrCat("tokenizer.ggml.merges[", rank, "] is not \"left right\""));
    merges.emplace_back(line.substr(0, space), line.substr(space + 1));
  }
  return merges;
}

// Token types (absent: all normal). Control tokens become special added tokens (matched in text,
// decoded to nothing), user-defined ones plain added tokens, as llama.cpp treats them.
absl::StatusOr<std::vector<hf_added_token>> gguf_added_tokens(const gguf_file& gguf,
                                                              const std::vector<std::string>& tokens,
                                                              const std::string& path) {
  std::vector<hf_added_token> added;
  const gguf_value* types = gguf.find("tokenizer.ggml.token_type");
  if (types == nullptr) return added;
  if (!types->is_array || types->array.size() != tokens.size())
    return invalid(path, "tokenizer.ggml.token_type does not match the tokens");
  for (std::size_t id = 0; id < tokens.size(); ++id) {
    const auto* type = std::get_if<int64_t>(&types->array[id]);
    const auto* utype = std::get_if<uint64_t>(&types->array[id]);
    if (!type && !utype) return invalid(path, "tokenizer.ggml.token_type holds a non-integer");
    const int64_t t = type ? *type : static_cast<int64_t>(*utype);
    if (t == control || t == user_defined) {
      hf_added_token token;
      token.id = static_cast<int>(id);
      token.content = tokens[id];
      token.special = t == control;
      added.push_back(std::move(token));
    }
  }
  return added;
}

int optional_id(const gguf_file& gguf, const std::string& key, int count) {
  auto id = gguf.integer(key);
  return id && *id >= 0 && *id < count ? static_cast<int>(*id) : -1;
}

std::optional<bool> optional_bool(const gguf_file& gguf, const std::string& key) {
  const gguf_value* value = gguf.find(key);
  const bool* b = value != nullptr && !value->is_array ? std::get_if<bool>(&value->scalar) : nullptr;
  return b ? std::optional<bool>(*b) : std::nullopt;
}

absl::StatusOr<std::unique_ptr<tokenizer>> gpt2_vocab(const gguf_file& gguf, const std::string& path,
                                                      int vocab_size) {
  const auto pre = gguf.text("tokenizer.ggml.pre");
  if (!pre)
    return absl::UnimplementedError(absl::StrCat(
        path, ": tokenizer.ggml.pre is missing (llama.cpp's 'default' split is not supported); pass --tokenizer"));
  auto rule = pre_split(*pre);
  if (!rule)
    return absl::UnimplementedError(absl::StrCat(
        path, ": tokenizer.ggml.pre '", *pre, "' is not supported (gpt-2, phi-2, llama3, llama-v3, llama-bpe, qwen2); pass --tokenizer"));
  auto tokens = string_array(gguf, "tokenizer.ggml.tokens", path);
  if (!tokens.ok()) return tokens.status();
  const int count = static_cast<int>(tokens->size());
  if (count == 0) return invalid(path, "tokenizer.ggml.tokens is empty");
  if (vocab_size > 0 && count > vocab_size)
    return invalid(path, absl::StrCat("tokenizer has ", count, " tokens, model expects ", vocab_size));
  auto merges = gguf_merges(gguf, path);
  if (!merges.ok()) return merges.status();
  auto added = gguf_added_tokens(gguf, *tokens, path);
  if (!added.ok()) return added.status();

  bpe_model_options options;
  options.byte_level = true;
  options.ignore_merges = rule->kind == split_rule::family::llama3 && rule->max_digits == 3;  // as llama.cpp
  options.unk_id = optional_id(gguf, "tokenizer.ggml.unknown_token_id", count);
  std::vector<std::pair<std::string, int>> vocab;
  vocab.reserve(tokens->size());
  for (int id = 0; id < count; ++id) vocab.emplace_back((*tokens)[id], id);
  auto model = bpe_model::build(std::move(vocab), *merges, options, path, "tokenizer.ggml.merges");
  if (!model.ok()) return model.status();

  hf_tokenizer_parts parts;
  parts.name = "hf-bpe";
  parts.model = std::move(*model);
  parts.pre_tokenizer = hf_pre_tokenizer({hf_pre_tokenizer::step::split(*rule)}, /*byte_level=*/true);
  parts.added = std::move(*added);
  // BOS is what encode(add_bos) prepends: none when the file says not to add one (GPT-2).
  const bool add_bos = optional_bool(gguf, "tokenizer.ggml.add_bos_token").value_or(true);
  parts.bos = add_bos ? optional_id(gguf, "tokenizer.ggml.bos_token_id", count) : -1;
  parts.eos = optional_id(gguf, "tokenizer.ggml.eos_token_id", count);
  return make_hf_tokenizer(std::move(parts));
}

}  // namespace

absl::StatusOr<std::unique_ptr<tokenizer>> load_gguf_tokenizer(const std::string& path,
                                                               int vocab_size) {
  auto file = mapped_file::open(path);
  if (!file.ok()) return file.status();
  auto gguf = parse_gguf((*file)->data(), (*file)->size(), path);
  if (!gguf.ok()) return gguf.status();
  const auto kind = gguf->text("tokenizer.ggml.model");
  if (!kind) return absl::NotFoundError(absl::StrCat(path, ": holds no tokenizer (tokenizer.ggml.model)"));
  if (*kind == "llama") return llama_vocab(*gguf, path, vocab_size);
  if (*kind == "gpt2") return gpt2_vocab(*gguf, path, vocab_size);
  return absl::UnimplementedError(absl::StrCat(path, ": GGUF tokenizer model '", *kind,
                                               "' is not supported yet (only 'llama' and 'gpt2'); pass --tokenizer"));
}

}  // namespace alisa::model
