// bpe_tokenizer.cpp — reading a Hugging Face tokenizer.json into the pipeline of hf_tokenizer.hpp.
// Supported flavours:
//   * byte-level BPE (GPT-2, OPT, Llama-3, Qwen2): ByteLevel pre-tokenizer, optionally after a
//     Split regex that pretokenizer.hpp implements; decoding through GPT-2's byte map.
//   * SentencePiece-style BPE (Llama-2, Mistral, ...): code-point symbols, `byte_fallback` to
//     "<0xHH>" tokens, `fuse_unk`; the "▁" space mark from a normalizer (Prepend + Replace) or a
//     Metaspace pre-tokenizer; decoders Replace/ByteFallback/Fuse/Strip or Metaspace.
//   * Unigram (`"type": "Unigram"`, Viterbi over log-prob scores; unigram_model.hpp).
//   * added tokens with lstrip / rstrip / single_word / normalized (hf_added_tokens.hpp).
// Refused with Unimplemented (load_tokenizer then falls back to a sibling tokenizer.model): other
// model types (WordPiece, WordLevel), BPE continuing_subword_prefix / end_of_word_suffix, and the
// normalizers, pre-tokenizers and decoders their headers list as unsupported. BPE dropout is
// ignored (inference never samples segmentations). Malformed files are InvalidArgument, one line
// naming the file and the field; nothing throws.
#include <cstdint>
#include <filesystem>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "model/hf_json.hpp"
#include "model/hf_tokenizer.hpp"
#include "model/tokenizer_formats.hpp"

namespace alisa::model {
namespace {

using hf_json::json;
using hf_json::invalid;
using hf_json::member;
using hf_json::string_member;

absl::StatusOr<std::vector<std::pair<std::string, int>>> parse_bpe_vocab(const json& model,
                                                                         const std::string& origin) {
  const json* vocab = member(model, "vocab");
  if (vocab == nullptr || !vocab->is_object()) return invalid(origin, "model.vocab is missing or not an object");
  std::vector<std::pair<std::string, int>> out;
  out.reserve(vocab->size());
  for (const auto& [piece, id] : vocab->items()) {
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0 || id.get<std::int64_t>() > (1 << 30))
      return invalid(origin, absl::StrCat("model.vocab[\"", piece, "\"] is not a valid id"));
    out.emplace_back(piece, id.get<int>());
  }
  return out;
}

// A merge is "left right" (older files) or ["left", "right"] (newer ones, which allow spaces).
std::optional<std::pair<std::string, std::string>> merge_parts(const json& entry) {
  if (entry.is_string()) {
    const std::string s = entry.get<std::string>();
    const auto space = s.find(' ', 1);
    if (space == std::string::npos) return std::nullopt;
    return std::pair{s.substr(0, space), s.substr(space + 1)};
  }
  if (entry.is_array() && entry.size() == 2 && entry[0].is_string() && entry[1].is_string())
    return std::pair{entry[0].get<std::string>(), entry[1].get<std::string>()};
  return std::nullopt;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> parse_merges(const json& model,
                                                                              const std::string& origin) {
  std::vector<std::pair<std::string, std::string>> out;
  const json* merges = member(model, "merges");
  if (merges == nullptr || merges->is_null()) return out;  // a vocab of single symbols needs none
  if (!merges->is_array()) return invalid(origin, "model.merges is not an array");
  out.reserve(merges->size());
  for (std::size_t rank = 0; rank < merges->size(); ++rank) {
    auto parts = merge_parts((*merges)[rank]);
    if (!parts) return invalid(origin, absl::StrCat("model.merges[", rank, "] is malformed"));
    out.push_back(std::move(*parts));
  }
  return out;
}

absl::Status refuse_affixes(const json& model, const std::string& origin) {
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (auto affix = string_member(model, key); affix && !affix->empty())
      return hf_json::unsupported(origin, absl::StrCat("model.", key, " is not supported"));
  }
  return absl::OkStatus();
}

absl::StatusOr<bpe_model> parse_bpe(const json& model, const std::string& origin, bool byte_level) {
  if (auto status = refuse_affixes(model, origin); !status.ok()) return status;
  auto vocab = parse_bpe_vocab(model, origin);
  if (!vocab.ok()) return vocab.status();
  auto merges = parse_merges(model, origin);
  if (!merges.ok()) return merges.status();
  bpe_model_options options;
  options.byte_level = byte_level;
  options.byte_fallback = hf_json::bool_member(model, "byte_fallback", false);
  options.fuse_unk = hf_json::bool_member(model, "fuse_unk", false);
  options.ignore_merges = hf_json::bool_member(model, "ignore_merges", false);
  if (auto unk = string_member(model, "unk_token")) {
    for (const auto& [piece, id] : *vocab) {
      if (piece == *unk) options.unk_id = id;
    }
  }
  return bpe_model::build(std::move(*vocab), *merges, options, origin, "model.merges");
}

absl::StatusOr<unigram_model> parse_unigram(const json& model, const std::string& origin) {
  const json* vocab = member(model, "vocab");
  if (vocab == nullptr || !vocab->is_array()) return invalid(origin, "model.vocab is missing or not an array");
  std::vector<std::pair<std::string, double>> pieces;
  pieces.reserve(vocab->size());
  for (std::size_t i = 0; i < vocab->size(); ++i) {
    const json& entry = (*vocab)[i];
    if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() || !entry[1].is_number())
      return invalid(origin, absl::StrCat("model.vocab[", i, "] is not a [piece, score] pair"));
    pieces.emplace_back(entry[0].get<std::string>(), entry[1].get<double>());
  }
  int unk_id = -1;
  if (const json* unk = member(model, "unk_id"); unk != nullptr && !unk->is_null()) {
    if (!unk->is_number_integer() || unk->get<std::int64_t>() < 0 || unk->get<std::int64_t>() > (1 << 30))
      return invalid(origin, "model.unk_id is not a valid id");
    unk_id = unk->get<int>();
  }
  return unigram_model::build(std::move(pieces), unk_id, hf_json::bool_member(model, "byte_fallback", false),
                              origin);
}

absl::Status parse_model(const json& root, const std::string& origin, hf_tokenizer_parts& parts) {
  const json* model = member(root, "model");
  if (model == nullptr || !model->is_object()) return invalid(origin, "\"model\" is missing");
  const std::string type = string_member(*model, "type").value_or("BPE");  // old files omit it
  if (type == "BPE") {
    auto bpe = parse_bpe(*model, origin, parts.pre_tokenizer.byte_level());
    if (!bpe.ok()) return bpe.status();
    parts.name = "hf-bpe";
    parts.model = std::move(*bpe);
    return absl::OkStatus();
  }
  if (type == "Unigram") {
    auto unigram = parse_unigram(*model, origin);
    if (!unigram.ok()) return unigram.status();
    parts.name = "hf-unigram";
    parts.model = std::move(*unigram);
    return absl::OkStatus();
  }
  return hf_json::unsupported(origin, "model type " + type + " is not supported (only BPE and Unigram)");
}

// The special token a post-processor puts in front of a single sequence (TemplateProcessing,
// RobertaProcessing/BertProcessing "cls", or either inside a Sequence).
std::optional<int> post_processor_bos(const json& post, const hf_tokenizer_parts& parts) {
  const auto type = hf_json::type_of(post);
  if (type == "Sequence") {
    const json* list = member(post, "processors");
    if (list == nullptr || !list->is_array()) return std::nullopt;
    for (const auto& item : *list) {
      if (auto id = post_processor_bos(item, parts)) return id;
    }
    return std::nullopt;
  }
  if (type == "TemplateProcessing") {
    const json* single = member(post, "single");
    if (single == nullptr || !single->is_array() || single->empty()) return std::nullopt;
    const json* special = member((*single)[0], "SpecialToken");
    auto name = special ? string_member(*special, "id") : std::nullopt;
    return name ? hf_token_id(parts, *name) : std::nullopt;
  }
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    const json* cls = member(post, "cls");
    if (cls && cls->is_array() && cls->size() == 2 && (*cls)[1].is_number_integer())
      return (*cls)[1].get<int>();
  }
  return std::nullopt;
}

int first_known(const hf_tokenizer_parts& parts, std::initializer_list<std::string_view> names) {
  for (auto name : names) {
    if (auto id = hf_token_id(parts, name)) return *id;
  }
  return -1;
}

// BOS: what the post-processor prepends, else a conventional name. OPT's converted files prepend
// "</s>" (id 2) through TemplateProcessing, which the first rule picks up. Llama-2's files
// prepend "<s>" the same way.
void choose_special_ids(const json& root, hf_tokenizer_parts& parts) {
  const json* post = member(root, "post_processor");
  std::optional<int> bos = post ? post_processor_bos(*post, parts) : std::nullopt;
  parts.bos = bos ? *bos : first_known(parts, {"<|begin_of_text|>", "<s>", "<|endoftext|>"});
  parts.eos = first_known(parts, {"<|end_of_text|>", "</s>", "<|endoftext|>", "<|im_end|>"});
}

// tokenizer_config.json beside tokenizer.json names the real bos/eos tokens (e.g. Llama-3
// Instruct ends turns with <|eot_id|>); it overrides the guesses when present.
void apply_tokenizer_config(const std::string& path, hf_tokenizer_parts& parts) {
  const auto config_path = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
  auto text = read_tokenizer_file(config_path.string());
  if (!text.ok()) return;
  const json config = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  auto special_name = [&](const char* key) -> std::optional<std::string> {
    const json* m = member(config, key);
    if (m == nullptr) return std::nullopt;
    if (m->is_string()) return m->get<std::string>();
    return string_member(*m, "content");  // {"content": "<s>", ...} form
  };
  if (auto name = special_name("bos_token")) {
    if (auto id = hf_token_id(parts, *name)) parts.bos = *id;
  }
  if (auto name = special_name("eos_token")) {
    if (auto id = hf_token_id(parts, *name)) parts.eos = *id;
  }
}

// A block that may be absent or null (both mean "none").
const json& optional_block(const json& root, const char* key) {
  static const json null_value;
  const json* block = member(root, key);
  return block != nullptr ? *block : null_value;
}

absl::StatusOr<hf_tokenizer_parts> parse_hf_json(std::string_view text, const std::string& origin) {
  const json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) return invalid(origin, "invalid JSON");
  hf_tokenizer_parts parts;
  auto normalizer = parse_hf_normalizer(optional_block(root, "normalizer"), origin);
  if (!normalizer.ok()) return normalizer.status();
  parts.normalizer = std::move(*normalizer);
  auto pre = parse_hf_pre_tokenizer(optional_block(root, "pre_tokenizer"), origin);
  if (!pre.ok()) return pre.status();
  parts.pre_tokenizer = std::move(*pre);
  if (auto status = parse_model(root, origin, parts); !status.ok()) return status;
  // Byte-level ids always decode through the byte map, whatever the decoder block says.
  if (!parts.pre_tokenizer.byte_level()) {
    auto decoder = parse_hf_decoder(optional_block(root, "decoder"), origin);
    if (!decoder.ok()) return decoder.status();
    parts.decoder = std::move(*decoder);
  }
  auto added = parse_hf_added_tokens(root, origin);
  if (!added.ok()) return added.status();
  parts.added = std::move(*added);
  choose_special_ids(root, parts);
  return parts;
}

absl::StatusOr<std::unique_ptr<tokenizer>> make_checked(hf_tokenizer_parts parts, const std::string& origin,
                                                        int vocab_size) {
  const int count = hf_max_id(parts) + 1;
  if (count <= 0) return invalid(origin, "the tokenizer has no tokens");
  if (vocab_size > 0 && count > vocab_size)
    return invalid(origin, absl::StrCat("tokenizer has ", count, " tokens, model expects ", vocab_size));
  return make_hf_tokenizer(std::move(parts));
}

}  // namespace

absl::StatusOr<std::unique_ptr<tokenizer>> parse_hf_tokenizer(std::string_view json_text,
                                                              const std::string& origin, int vocab_size) {
  try {
    auto parts = parse_hf_json(json_text, origin);
    if (!parts.ok()) return parts.status();
    return make_checked(std::move(*parts), origin, vocab_size);
  } catch (const std::exception& e) {  // nlohmann type errors on odd files: report, never throw
    return invalid(origin, absl::StrCat("malformed tokenizer.json (", e.what(), ")"));
  }
}

absl::StatusOr<std::unique_ptr<tokenizer>> load_hf_tokenizer(const std::string& path, int vocab_size) {
  auto text = read_tokenizer_file(path);
  if (!text.ok()) return text.status();
  try {
    auto parts = parse_hf_json(*text, path);
    if (!parts.ok()) return parts.status();
    apply_tokenizer_config(path, *parts);
    return make_checked(std::move(*parts), path, vocab_size);
  } catch (const std::exception& e) {
    return invalid(path, absl::StrCat("malformed tokenizer.json (", e.what(), ")"));
  }
}

}  // namespace alisa::model
