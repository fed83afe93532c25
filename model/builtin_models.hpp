#pragma once
// builtin_models — the models that ship inside the repository (model/builtin/), reachable by
// name: `--model stories260K` is model/builtin/stories260K/stories260K.bin with its tokenizer.
#include <optional>
#include <string>
#include <string_view>

namespace alisa::model {

inline constexpr std::string_view default_model_name = "stories260K";

// The checkpoint path of a built-in model name, or nullopt when `name` is not one. The folder is
// the source tree's model/builtin (fixed at build time).
std::optional<std::string> builtin_model_path(std::string_view name);

}  // namespace alisa::model
