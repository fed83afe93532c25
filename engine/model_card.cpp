#include "engine/model_card.hpp"

#include "absl/strings/str_cat.h"
#include "model/load_model.hpp"
#include "model/synthetic.hpp"
#include "model/weights_fingerprint.hpp"

namespace alisa::engine {

absl::StatusOr<std::unique_ptr<model::tokenizer>> open_engine_tokenizer(
    const engine_options& options, const model::model_config& config) {
  std::string path = options.tokenizer;
  if (path.empty()) {
    auto found = model::find_tokenizer(options.model);
    if (!found.ok()) {
      if (options.model.rfind("synthetic:", 0) == 0)
        return model::make_byte_tokenizer(config.vocab_size, config.bos_token_id,
                                          config.eos_token_id);
      return absl::NotFoundError(absl::StrCat("no tokenizer found for model ", options.model,
                                              "; pass --tokenizer PATH"));
    }
    path = *found;
  }
  auto tok = model::load_tokenizer(path, config.vocab_size);
  if (!tok.ok()) return tok.status();
  if ((*tok)->vocab_size() > config.vocab_size)
    return absl::InvalidArgumentError(absl::StrCat("tokenizer ", path, " has ", (*tok)->vocab_size(),
                                                   " tokens but the model's vocabulary has ",
                                                   config.vocab_size));
  return tok;
}

absl::StatusOr<model_card> open_model_card(const engine_options& options) {
  model_card card;
  const std::string prefix = "synthetic:";
  if (options.model.rfind(prefix, 0) == 0) {
    auto config = model::synthetic_preset_config(options.model.substr(prefix.size()),
                                                 options.context_length);
    if (!config.ok()) return config.status();
    card.config = *config;
    card.weights_fingerprint = options.model;
    card.weight_type = options.weight_type;
  } else {
    auto weights = model::load_model(options.model);
    if (!weights.ok()) return weights.status();
    card.config = weights->config;
    card.weights_fingerprint = model::weights_fingerprint(*weights);
    card.weight_type = settled_weight_type(options, *weights);
  }
  auto tok = open_engine_tokenizer(options, card.config);
  if (!tok.ok()) return tok.status();
  card.tokenizer = std::move(*tok);
  return card;
}

}  // namespace alisa::engine
