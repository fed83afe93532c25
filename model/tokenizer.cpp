// tokenizer.cpp — what all tokenizers share: whole-sequence decode, UTF-8 stream reassembly,
// format detection (load_tokenizer) and locating a model's tokenizer (find_tokenizer).
#include "model/tokenizer.hpp"

#include "model/builtin_models.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "model/gguf.hpp"
#include "model/tokenizer_formats.hpp"
#include "model/utf8.hpp"

namespace alisa::model {
namespace fs = std::filesystem;

std::string tokenizer::decode(const std::vector<int>& ids) const {
  std::string out;
  int previous = -1;
  for (int id : ids) {
    out += token_bytes(previous, id);
    previous = id;
  }
  return out;
}

// ---- utf8_stream -----------------------------------------------------------------------------

std::string utf8_stream::push(std::string_view bytes) {
  pending_.append(bytes);
  std::string out;
  std::size_t pos = 0;
  while (pos < pending_.size()) {
    const int len = utf8::check_sequence(pending_, pos);
    if (len == 0) break;  // a valid prefix cut off by the end: wait for its continuation bytes
    if (len < 0) {
      // Can never become valid, whatever arrives next: emit U+FFFD so the text stays UTF-8.
      utf8::append(out, utf8::replacement_char);
      ++pos;
      continue;
    }
    out.append(pending_, pos, static_cast<std::size_t>(len));
    pos += static_cast<std::size_t>(len);
  }
  pending_.erase(0, pos);
  return out;
}

std::string utf8_stream::flush() {
  std::string out;
  // Whatever is still pending is an incomplete sequence: one U+FFFD per byte.
  for (std::size_t i = 0; i < pending_.size(); ++i) utf8::append(out, utf8::replacement_char);
  pending_.clear();
  return out;
}

// ---- loading -----------------------------------------------------------------------------------

absl::StatusOr<std::string> read_tokenizer_file(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return absl::NotFoundError("tokenizer not found: " + path);
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("tokenizer not found: " + path + " (cannot open)");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::DataLossError(path + ": read error");
  return std::move(buffer).str();
}

namespace {

enum class tokenizer_format { llama2c, sentencepiece, hf_json };

// A SentencePiece ModelProto starts with field 1 (pieces), length-delimited: tag byte 0x0A.
// A llama2.c file starts with a small int32 max_token_length, so its first byte is almost never
// 0x0A followed by a plausible piece message; the name check covers the usual cases anyway.
bool looks_like_sentencepiece(std::string_view head) {
  return head.size() >= 2 && head[0] == 0x0A && static_cast<unsigned char>(head[1]) < 0x80 &&
         head.size() > 4 && head[2] == 0x0A;
}

tokenizer_format detect_format(const std::string& path, std::string_view head) {
  const std::string name = fs::path(path).filename().string();
  if (absl::EndsWith(name, ".json")) return tokenizer_format::hf_json;
  if (absl::EndsWith(name, ".model")) return tokenizer_format::sentencepiece;
  if (!head.empty() && head.front() == '{') return tokenizer_format::hf_json;
  if (looks_like_sentencepiece(head)) return tokenizer_format::sentencepiece;
  return tokenizer_format::llama2c;
}

std::string read_head(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char buf[16] = {};
  in.read(buf, sizeof(buf));
  return std::string(buf, static_cast<std::size_t>(std::max<std::streamsize>(0, in.gcount())));
}

}  // namespace

absl::StatusOr<std::unique_ptr<tokenizer>> load_tokenizer(const std::string& path, int vocab_size) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return absl::NotFoundError("tokenizer not found: " + path);
  const std::string head = read_head(path);
  if (looks_like_gguf(reinterpret_cast<const std::byte*>(head.data()), head.size()))
    return load_gguf_tokenizer(path, vocab_size);
  switch (detect_format(path, head)) {
    case tokenizer_format::sentencepiece:
      return load_sentencepiece_tokenizer(path, vocab_size);
    case tokenizer_format::hf_json: {
      auto hf = load_hf_tokenizer(path, vocab_size);
      // A tokenizer.json flavour alisa cannot reproduce (WordPiece, a Precompiled charsmap, NFKC,
      // ...; see bpe_tokenizer.cpp) often ships next to the tokenizer.model it was converted
      // from: use that instead. Supported flavours (Llama-2's included) load from the JSON.
      const fs::path sibling = fs::path(path).parent_path() / "tokenizer.model";
      if (!hf.ok() && absl::IsUnimplemented(hf.status()) && fs::is_regular_file(sibling, ec))
        return load_sentencepiece_tokenizer(sibling.string(), vocab_size);
      return hf;
    }
    case tokenizer_format::llama2c:
      break;
  }
  return load_llama2c_tokenizer(path, vocab_size);
}

// ---- find_tokenizer ----------------------------------------------------------------------------

namespace {

// tok*.bin files in `dir` (llama2.c names custom vocabularies tok512.bin, tok4096.bin, ...),
// sorted so the choice is deterministic; `exclude` is the model file itself.
std::vector<fs::path> tok_bin_files(const fs::path& dir, const fs::path& exclude) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file(ec) || !absl::StartsWith(name, "tok") ||
        !absl::EndsWith(name, ".bin"))
      continue;
    if (!exclude.empty() && fs::equivalent(entry.path(), exclude, ec)) continue;
    found.push_back(entry.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::optional<fs::path> find_in_directory(const fs::path& dir, const fs::path& exclude,
                                          bool allow_hf_names) {
  std::error_code ec;
  const std::vector<std::string> names =
      allow_hf_names ? std::vector<std::string>{"tokenizer.json", "tokenizer.model", "tokenizer.bin"}
                     : std::vector<std::string>{"tokenizer.bin"};
  for (const auto& name : names) {
    const fs::path candidate = dir / name;
    if (fs::is_regular_file(candidate, ec) && !(fs::equivalent(candidate, exclude, ec)))
      return candidate;
  }
  auto tok = tok_bin_files(dir, exclude);
  if (!tok.empty()) return tok.front();
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::string> find_tokenizer(const std::string& model_name) {
  const std::string model_spec = builtin_model_path(model_name).value_or(model_name);
  if (absl::StartsWith(model_spec, "synthetic:"))
    return absl::NotFoundError("tokenizer not found: " + model_spec +
                               " (synthetic models use the byte tokenizer)");
  std::error_code ec;
  const fs::path spec(model_spec);
  std::optional<fs::path> found;
  if (fs::is_directory(spec, ec)) {
    found = find_in_directory(spec, fs::path(), /*allow_hf_names=*/true);
  } else if (fs::is_regular_file(spec, ec)) {
    // A GGUF model holds its own tokenizer.
    if (absl::EndsWith(spec.filename().string(), ".gguf")) return spec.string();
    // A model file: its tokenizer lies beside it (never the file itself).
    const fs::path dir = spec.has_parent_path() ? spec.parent_path() : fs::path(".");
    // A llama2.c .bin only pairs with a llama2.c tokenizer; other files (model.safetensors,
    // config.json) sit in a Hugging Face directory.
    const bool llama2c_checkpoint = absl::EndsWith(spec.filename().string(), ".bin");
    found = find_in_directory(dir, spec, /*allow_hf_names=*/!llama2c_checkpoint);
  }
  if (!found) return absl::NotFoundError("tokenizer not found: " + model_spec);
  return found->string();
}

}  // namespace alisa::model
