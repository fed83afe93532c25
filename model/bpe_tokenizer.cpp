// bpe_tokenizer.cpp — Hugging Face tokenizer.json with a byte-level BPE model (GPT-2, OPT,
// Llama-3, Qwen2 style). Pipeline: added tokens are cut out literally first; the rest is split by
// the pre-tokenizer regex (hand-written, see pretokenizer.hpp), each piece is spelled with GPT-2's
// byte-to-unicode mapping and merged by merge rank. Not handled: normalizers (assumed identity,
// true for these families), added-token lstrip/rstrip/single_word flags, dropout, and non
// byte-level tokenizer.json files (Metaspace/SentencePiece style) -> Unimplemented.
#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "model/bpe_merge.hpp"
#include "model/byte_level.hpp"
#include "model/pretokenizer.hpp"
#include "model/tokenizer_formats.hpp"
#include "model/utf8.hpp"

namespace alisa::model {
namespace {

using json = nlohmann::json;

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using piece_map = std::unordered_map<std::string, int, string_hash, std::equal_to<>>;

struct added_token {
  int id = -1;
  std::string content;
  bool special = false;
};

// Everything read from tokenizer.json; the tokenizer object is built from it.
struct hf_bpe_data {
  piece_map vocab;                                         // byte-level spelling -> id
  std::unordered_map<std::uint64_t, bpe_candidate> merges; // (left, right) -> rank, result
  std::vector<added_token> added;
  std::vector<split_rule> splits;  // applied in order
  bool byte_level = false;
  bool add_prefix_space = false;
  bool ignore_merges = false;  // Llama-3: a piece that is a whole vocab entry skips merging
  int unk = -1;
  int bos = -1;
  int eos = -1;
  int max_id = -1;
};

std::uint64_t pair_key(int left, int right) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
         static_cast<std::uint32_t>(right);
}

const json* member(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::optional<std::string> string_member(const json& j, const char* key) {
  const json* m = member(j, key);
  if (m == nullptr || !m->is_string()) return std::nullopt;
  return m->get<std::string>();
}

bool bool_member(const json& j, const char* key, bool fallback) {
  const json* m = member(j, key);
  return m != nullptr && m->is_boolean() ? m->get<bool>() : fallback;
}

absl::Status error(const std::string& origin, const std::string& problem) {
  return absl::InvalidArgumentError(absl::StrCat(origin, ": ", problem));
}

absl::Status parse_vocab(const json& model, const std::string& origin, hf_bpe_data& data) {
  const json* vocab = member(model, "vocab");
  if (vocab == nullptr || !vocab->is_object()) return error(origin, "model.vocab is missing");
  for (const auto& [piece, id] : vocab->items()) {
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0 || id.get<std::int64_t>() > (1 << 30))
      return error(origin, absl::StrCat("model.vocab[\"", piece, "\"] is not a valid id"));
    const int value = id.get<int>();
    data.vocab.emplace(piece, value);
    data.max_id = std::max(data.max_id, value);
  }
  return absl::OkStatus();
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

absl::Status parse_merges(const json& model, const std::string& origin, hf_bpe_data& data) {
  const json* merges = member(model, "merges");
  if (merges == nullptr) return absl::OkStatus();  // a vocab of single bytes needs none
  if (!merges->is_array()) return error(origin, "model.merges is not an array");
  data.merges.reserve(merges->size());
  for (std::size_t rank = 0; rank < merges->size(); ++rank) {
    auto parts = merge_parts((*merges)[rank]);
    if (!parts) return error(origin, absl::StrCat("model.merges[", rank, "] is malformed"));
    auto left = data.vocab.find(parts->first);
    auto right = data.vocab.find(parts->second);
    auto merged = data.vocab.find(parts->first + parts->second);
    if (left == data.vocab.end() || right == data.vocab.end() || merged == data.vocab.end())
      return error(origin, absl::StrCat("model.merges[", rank, "] uses a token not in the vocab"));
    // Lower rank merges first; the earliest duplicate wins, as in Hugging Face.
    data.merges.emplace(pair_key(left->second, right->second),
                        bpe_candidate{-static_cast<double>(rank), merged->second});
  }
  return absl::OkStatus();
}

absl::Status parse_model(const json& root, const std::string& origin, hf_bpe_data& data) {
  const json* model = member(root, "model");
  if (model == nullptr || !model->is_object()) return error(origin, "\"model\" is missing");
  if (auto type = string_member(*model, "type"); type && *type != "BPE")
    return absl::UnimplementedError(
        absl::StrCat(origin, ": model type ", *type, " is not supported (only BPE)"));
  if (auto status = parse_vocab(*model, origin, data); !status.ok()) return status;
  if (auto status = parse_merges(*model, origin, data); !status.ok()) return status;
  data.ignore_merges = bool_member(*model, "ignore_merges", false);
  if (auto unk = string_member(*model, "unk_token")) {
    if (auto it = data.vocab.find(*unk); it != data.vocab.end()) data.unk = it->second;
  }
  return absl::OkStatus();
}

// Recognises the split regexes of the supported families (see pretokenizer.hpp).
std::optional<split_rule> recognise_regex(std::string_view regex) {
  if (regex.find("[^\\r\\n\\p{L}\\p{N}]?\\p{L}+") != std::string_view::npos) {
    if (regex.find("\\p{N}{1,3}") != std::string_view::npos)
      return split_rule{split_rule::family::llama3, 3};
    if (regex.find("|\\p{N}|") != std::string_view::npos)
      return split_rule{split_rule::family::llama3, 1};
    return std::nullopt;
  }
  if (regex == "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+")
    return split_rule{split_rule::family::gpt2, 0};
  return std::nullopt;
}

absl::Status parse_pre_tokenizer(const json& pre, const std::string& origin, hf_bpe_data& data) {
  const auto type = string_member(pre, "type").value_or("");
  if (type == "Sequence") {
    const json* list = member(pre, "pretokenizers");
    if (list == nullptr || !list->is_array()) return error(origin, "pre_tokenizer.pretokenizers is missing");
    for (const auto& item : *list) {
      if (auto status = parse_pre_tokenizer(item, origin, data); !status.ok()) return status;
    }
    return absl::OkStatus();
  }
  if (type == "ByteLevel") {
    data.byte_level = true;
    data.add_prefix_space = bool_member(pre, "add_prefix_space", false);
    if (bool_member(pre, "use_regex", true)) data.splits.push_back({split_rule::family::gpt2, 0});
    return absl::OkStatus();
  }
  if (type == "Split") {
    const json* pattern = member(pre, "pattern");
    const auto regex = pattern ? string_member(*pattern, "Regex") : std::nullopt;
    auto rule = regex ? recognise_regex(*regex) : std::nullopt;
    if (!rule)
      return absl::UnimplementedError(absl::StrCat(origin, ": unsupported pre_tokenizer Split pattern"));
    data.splits.push_back(*rule);
    return absl::OkStatus();
  }
  return absl::UnimplementedError(
      absl::StrCat(origin, ": unsupported pre_tokenizer \"", type, "\" (only byte-level BPE)"));
}

absl::Status parse_added_tokens(const json& root, const std::string& origin, hf_bpe_data& data) {
  const json* list = member(root, "added_tokens");
  if (list == nullptr || list->is_null()) return absl::OkStatus();
  if (!list->is_array()) return error(origin, "added_tokens is not an array");
  for (const auto& item : *list) {
    const json* id = member(item, "id");
    auto content = string_member(item, "content");
    if (id == nullptr || !id->is_number_integer() || id->get<std::int64_t>() < 0 ||
        id->get<std::int64_t>() > (1 << 30) || !content || content->empty())
      return error(origin, "added_tokens has an entry without a valid id/content");
    data.added.push_back({id->get<int>(), *content, bool_member(item, "special", false)});
    data.max_id = std::max(data.max_id, data.added.back().id);
  }
  return absl::OkStatus();
}

std::optional<int> token_id(const hf_bpe_data& data, std::string_view content) {
  for (const auto& token : data.added) {
    if (token.content == content) return token.id;
  }
  if (auto it = data.vocab.find(content); it != data.vocab.end()) return it->second;
  return std::nullopt;
}

// The special token a post-processor puts in front of a single sequence (TemplateProcessing,
// RobertaProcessing/BertProcessing "cls", or either inside a Sequence).
std::optional<int> post_processor_bos(const json& post, const hf_bpe_data& data) {
  const auto type = string_member(post, "type").value_or("");
  if (type == "Sequence") {
    const json* list = member(post, "processors");
    if (list == nullptr || !list->is_array()) return std::nullopt;
    for (const auto& item : *list) {
      if (auto id = post_processor_bos(item, data)) return id;
    }
    return std::nullopt;
  }
  if (type == "TemplateProcessing") {
    const json* single = member(post, "single");
    if (single == nullptr || !single->is_array() || single->empty()) return std::nullopt;
    const json* special = member((*single)[0], "SpecialToken");
    auto name = special ? string_member(*special, "id") : std::nullopt;
    return name ? token_id(data, *name) : std::nullopt;
  }
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    const json* cls = member(post, "cls");
    if (cls && cls->is_array() && cls->size() == 2 && (*cls)[1].is_number_integer())
      return (*cls)[1].get<int>();
  }
  return std::nullopt;
}

int first_known(const hf_bpe_data& data, std::initializer_list<std::string_view> names) {
  for (auto name : names) {
    if (auto id = token_id(data, name)) return *id;
  }
  return -1;
}

// BOS: what the post-processor prepends, else a conventional name. OPT's converted files prepend
// "</s>" (id 2) through TemplateProcessing, which the first rule picks up.
void choose_special_ids(const json& root, hf_bpe_data& data) {
  const json* post = member(root, "post_processor");
  std::optional<int> bos = post ? post_processor_bos(*post, data) : std::nullopt;
  data.bos = bos ? *bos : first_known(data, {"<|begin_of_text|>", "<s>", "<|endoftext|>"});
  data.eos = first_known(data, {"<|end_of_text|>", "</s>", "<|endoftext|>", "<|im_end|>"});
}

// tokenizer_config.json beside tokenizer.json names the real bos/eos tokens (e.g. Llama-3
// Instruct ends turns with <|eot_id|>); it overrides the guesses when present.
void apply_tokenizer_config(const std::string& path, hf_bpe_data& data) {
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
    if (auto id = token_id(data, *name)) data.bos = *id;
  }
  if (auto name = special_name("eos_token")) {
    if (auto id = token_id(data, *name)) data.eos = *id;
  }
}

absl::StatusOr<hf_bpe_data> parse_hf_json(std::string_view text, const std::string& origin) {
  const json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) return error(origin, "invalid JSON");
  hf_bpe_data data;
  if (auto status = parse_model(root, origin, data); !status.ok()) return status;
  const json* pre = member(root, "pre_tokenizer");
  if (pre == nullptr || pre->is_null())
    return absl::UnimplementedError(absl::StrCat(origin, ": no pre_tokenizer (only byte-level BPE)"));
  if (auto status = parse_pre_tokenizer(*pre, origin, data); !status.ok()) return status;
  if (!data.byte_level)
    return absl::UnimplementedError(absl::StrCat(origin, ": not a byte-level BPE tokenizer"));
  if (auto status = parse_added_tokens(root, origin, data); !status.ok()) return status;
  choose_special_ids(root, data);
  return data;
}

class hf_bpe_tokenizer final : public tokenizer {
 public:
  explicit hf_bpe_tokenizer(hf_bpe_data data) : data_(std::move(data)) {
    index_bytes();
    index_added();
    build_surfaces();
  }

  std::string name() const override { return "hf-bpe"; }
  int vocab_size() const override { return data_.max_id + 1; }
  int bos_id() const override { return data_.bos; }
  int eos_id() const override { return data_.eos; }

  std::vector<int> encode(std::string_view text, bool add_bos) const override {
    std::vector<int> out;
    if (add_bos && data_.bos >= 0) out.push_back(data_.bos);
    std::size_t segment_start = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
      const added_token* token = added_at(text, pos);
      if (token == nullptr) {
        ++pos;
        continue;
      }
      encode_segment(text.substr(segment_start, pos - segment_start), out);
      out.push_back(token->id);
      pos += token->content.size();
      segment_start = pos;
    }
    encode_segment(text.substr(segment_start), out);
    return out;
  }

  std::string token_bytes(int /*previous*/, int id) const override {
    if (id < 0 || id >= static_cast<int>(surfaces_.size())) return {};
    return surfaces_[id];
  }

 private:
  void index_bytes() {
    for (int b = 0; b < 256; ++b) {
      std::string spelled;
      utf8::append(spelled, byte_level::byte_to_code_point(static_cast<unsigned char>(b)));
      auto it = data_.vocab.find(spelled);
      byte_ids_[b] = it != data_.vocab.end() ? it->second : data_.unk;
    }
  }

  // Added tokens grouped by first byte, longest first, so the longest literal match wins.
  void index_added() {
    for (std::size_t i = 0; i < data_.added.size(); ++i)
      added_by_byte_[static_cast<unsigned char>(data_.added[i].content[0])].push_back(i);
    for (auto& list : added_by_byte_) {
      std::stable_sort(list.begin(), list.end(), [&](std::size_t a, std::size_t b) {
        return data_.added[a].content.size() > data_.added[b].content.size();
      });
    }
  }

  // Raw bytes of every id: special added tokens decode to nothing, others to their content.
  void build_surfaces() {
    surfaces_.assign(static_cast<std::size_t>(vocab_size()), std::string());
    for (const auto& [spelled, id] : data_.vocab) surfaces_[id] = byte_level::decode(spelled);
    for (const auto& token : data_.added) surfaces_[token.id] = token.special ? "" : token.content;
  }

  const added_token* added_at(std::string_view text, std::size_t pos) const {
    for (std::size_t index : added_by_byte_[static_cast<unsigned char>(text[pos])]) {
      const added_token& token = data_.added[index];
      if (text.substr(pos, token.content.size()) == token.content) return &token;
    }
    return nullptr;
  }

  void encode_segment(std::string_view segment, std::vector<int>& out) const {
    if (segment.empty()) return;
    std::string text(segment);
    if (data_.add_prefix_space && text.front() != ' ') text.insert(text.begin(), ' ');
    std::vector<std::string_view> pieces = {text};
    for (const split_rule& rule : data_.splits) {
      std::vector<std::string_view> finer;
      for (auto piece : pieces) {
        auto split = pretokenize(piece, rule);
        finer.insert(finer.end(), split.begin(), split.end());
      }
      pieces = std::move(finer);
    }
    for (auto piece : pieces) encode_word(piece, out);
  }

  void encode_word(std::string_view word, std::vector<int>& out) const {
    if (data_.ignore_merges) {
      if (auto it = data_.vocab.find(byte_level::encode(word)); it != data_.vocab.end()) {
        out.push_back(it->second);
        return;
      }
    }
    std::vector<int> symbols;
    symbols.reserve(word.size());
    for (char c : word) {
      const int id = byte_ids_[static_cast<unsigned char>(c)];
      if (id >= 0) symbols.push_back(id);  // a vocab without the byte and without unk drops it
    }
    auto lookup = [this](int left, int right) -> std::optional<bpe_candidate> {
      auto it = data_.merges.find(pair_key(left, right));
      if (it == data_.merges.end()) return std::nullopt;
      return it->second;
    };
    auto merged = bpe_merge(std::move(symbols), lookup);
    out.insert(out.end(), merged.begin(), merged.end());
  }

  hf_bpe_data data_;
  std::array<int, 256> byte_ids_{};
  std::array<std::vector<std::size_t>, 256> added_by_byte_;
  std::vector<std::string> surfaces_;
};

absl::StatusOr<std::unique_ptr<tokenizer>> make_checked(hf_bpe_data data, const std::string& origin,
                                                        int vocab_size) {
  const int count = data.max_id + 1;
  if (vocab_size > 0 && count > vocab_size)
    return error(origin, absl::StrCat("tokenizer has ", count, " tokens, model expects ", vocab_size));
  return std::unique_ptr<tokenizer>(std::make_unique<hf_bpe_tokenizer>(std::move(data)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<tokenizer>> parse_hf_bpe_tokenizer(std::string_view json_text,
                                                                  const std::string& origin,
                                                                  int vocab_size) {
  try {
    auto data = parse_hf_json(json_text, origin);
    if (!data.ok()) return data.status();
    return make_checked(std::move(*data), origin, vocab_size);
  } catch (const std::exception& e) {  // nlohmann type errors on odd files: report, never throw
    return error(origin, absl::StrCat("malformed tokenizer.json (", e.what(), ")"));
  }
}

absl::StatusOr<std::unique_ptr<tokenizer>> load_hf_bpe_tokenizer(const std::string& path,
                                                                 int vocab_size) {
  auto text = read_tokenizer_file(path);
  if (!text.ok()) return text.status();
  try {
    auto data = parse_hf_json(*text, path);
    if (!data.ok()) return data.status();
    apply_tokenizer_config(path, *data);
    return make_checked(std::move(*data), path, vocab_size);
  } catch (const std::exception& e) {
    return error(path, absl::StrCat("malformed tokenizer.json (", e.what(), ")"));
  }
}

}  // namespace alisa::model
