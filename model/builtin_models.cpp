#include "model/builtin_models.hpp"

namespace alisa::model {

std::optional<std::string> builtin_model_path(std::string_view name) {
  if (name == "stories260K") return std::string(ALISA_BUILTIN_MODELS_DIR) + "/stories260K/stories260K.bin";
  return std::nullopt;
}

}  // namespace alisa::model
