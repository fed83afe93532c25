// The tokenizer stored in a GGUF file (model/tokenizer_formats.hpp, load_gguf_tokenizer).
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "model/gguf.hpp"
#include "model/mapped_file.hpp"
#include "model/tokenizer_formats.hpp"

namespace alisa::model {

absl::StatusOr<std::unique_ptr<tokenizer>> load_gguf_tokenizer(const std::string& path,
                                                               int vocab_size) {
  auto file = mapped_file::open(path);
  if (!file.ok()) return file.status();
  auto gguf = parse_gguf((*file)->data(), (*file)->size(), path);
  if (!gguf.ok()) return gguf.status();
  const auto kind = gguf->text("tokenizer.ggml.model");
  if (!kind) return absl::NotFoundError(absl::StrCat(path, ": holds no tokenizer (tokenizer.ggml.model)"));
  if (*kind != "llama")
    return absl::UnimplementedError(absl::StrCat(path, ": GGUF tokenizer model '", *kind,
                                                 "' is not supported yet (only 'llama'); pass --tokenizer"));
  const gguf_value* tokens = gguf->find("tokenizer.ggml.tokens");
  if (!tokens || !tokens->is_array)
    return absl::InvalidArgumentError(absl::StrCat(path, ": tokenizer.ggml.tokens is missing or not an array"));
  std::vector<std::string> pieces;
  pieces.reserve(tokens->array.size());
  for (const auto& t : tokens->array) {
    const auto* s = std::get_if<std::string>(&t);
    if (!s) return absl::InvalidArgumentError(absl::StrCat(path, ": tokenizer.ggml.tokens holds a non-string"));
    pieces.push_back(absl::StrReplaceAll(*s, {{"\xe2\x96\x81", " "}}));  // SentencePiece's space mark
  }
  std::vector<float> scores(pieces.size(), 0.0f);
  if (const gguf_value* sv = gguf->find("tokenizer.ggml.scores")) {
    if (!sv->is_array || sv->array.size() != pieces.size())
      return absl::InvalidArgumentError(absl::StrCat(path, ": tokenizer.ggml.scores does not match the tokens"));
    for (size_t i = 0; i < scores.size(); ++i) {
      const auto* d = std::get_if<double>(&sv->array[i]);
      if (!d) return absl::InvalidArgumentError(absl::StrCat(path, ": tokenizer.ggml.scores holds a non-number"));
      scores[i] = static_cast<float>(*d);
    }
  }
  return make_llama2c_tokenizer(std::move(pieces), std::move(scores), path, vocab_size);
}

}  // namespace alisa::model
