// Dispatch on the form of the --model argument; each loader owns its format's validation.
#include "model/load_model.hpp"

#include <exception>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "model/builtin_models.hpp"
#include "model/gguf_loader.hpp"
#include "model/hf_loader.hpp"
#include "model/llama2c_loader.hpp"
#include "model/synthetic.hpp"
#include "model/weight_check.hpp"

namespace alisa::model {
namespace {

absl::StatusOr<model_weights> dispatch(const std::string& spec, const load_options& options) {
  constexpr std::string_view kSynthetic = "synthetic:";
  if (spec.starts_with(kSynthetic)) return make_synthetic_model(spec.substr(kSynthetic.size()), options);
  if (auto builtin = builtin_model_path(spec)) return load_llama2c(*builtin);
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(spec, ec);
  if (ec || !fs::exists(st)) return absl::NotFoundError(absl::StrCat("model path not found: ", spec));
  if (fs::is_directory(st)) return load_hf_directory(spec);
  if (spec.ends_with(".bin")) return load_llama2c(spec);
  if (spec.ends_with(".gguf")) return load_gguf(spec);
  if (spec.ends_with(".safetensors") || spec.ends_with(".safetensors.index.json")) {
    return absl::InvalidArgumentError(absl::StrCat(
        spec, ": a safetensors file alone is not enough; pass the directory holding it and its config.json"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      spec, ": unrecognised model (expected stories260K, synthetic:NAME, a Hugging Face directory, or a llama2.c .bin)"));
}

}  // namespace

absl::StatusOr<model_weights> load_model(const std::string& spec, const load_options& options) {
  // The parsers avoid exceptions, but a bad_alloc on a huge synthetic preset (or a stray
  // nlohmann exception) must still become a Status, never escape to the caller.
  try {
    auto weights = dispatch(spec, options);
    if (!weights.ok()) return weights;
    using check = load_options::weight_check;
    const bool scan = options.check_weights == check::on ||
                      (options.check_weights == check::automatic && !weights->synthetic &&
                       weights->num_weight_bytes() < kCheckWeightsBelowBytes);
    if (scan)
      if (absl::Status s = check_finite_weights(*weights); !s.ok()) return s;
    return weights;
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(absl::StrCat(
        spec, ": out of memory while loading (synthetic presets: try synthetic_dtype bf16)"));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(spec, ": ", e.what()));
  }
}

}  // namespace alisa::model
