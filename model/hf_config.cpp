#include "model/hf_config.hpp"

#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace alisa::model {
namespace {

using json = nlohmann::json;

// Typed access to config.json fields with the file name in every error.
class fields {
 public:
  fields(const json& j, const std::string& path) : j_(j), path_(path) {}

  absl::StatusOr<int> required_int(const char* name) const {
    auto it = j_.find(name);
    if (it == j_.end() || it->is_null()) return error(absl::StrCat("missing required field ", name));
    return to_int(name, *it);
  }
  absl::StatusOr<int> optional_int(const char* name, int fallback) const {
    auto it = j_.find(name);
    if (it == j_.end() || it->is_null()) return fallback;
    if (it->is_array() && !it->empty() && it->front().is_number_integer())
      return to_int(name, it->front());  // eos lists
    return to_int(name, *it);
  }
  absl::StatusOr<float> optional_float(const char* name, float fallback) const {
    auto it = j_.find(name);
    if (it == j_.end() || it->is_null()) return fallback;
    if (!it->is_number()) return error(absl::StrCat("field ", name, " is not a number"));
    const double value = it->get<double>();
    // A value past float's range would become inf (or a NaN downstream) without a word.
    if (!std::isfinite(value) || std::fabs(value) > std::numeric_limits<float>::max())
      return error(absl::StrCat("field ", name, " = ", it->dump(), " is out of range for a float"));
    return static_cast<float>(value);
  }
  absl::StatusOr<bool> optional_bool(const char* name, bool fallback) const {
    auto it = j_.find(name);
    if (it == j_.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) return error(absl::StrCat("field ", name, " is not a boolean"));
    return it->get<bool>();
  }
  std::string optional_string(const char* name, const std::string& fallback) const {
    auto it = j_.find(name);
    return it != j_.end() && it->is_string() ? it->get<std::string>() : fallback;
  }
  bool present_non_null(const char* name) const {
    auto it = j_.find(name);
    return it != j_.end() && !it->is_null();
  }
  // An integer field as int, refusing values a 32-bit int cannot hold (get<int>() would truncate:
  // a vocab_size of 2^32 + 512 became 512).
  absl::StatusOr<int> to_int(const char* name, const json& v) const {
    if (!v.is_number_integer()) return error(absl::StrCat("field ", name, " is not an integer"));
    const bool fits = v.is_number_unsigned()
                          ? v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int>::max())
                          : v.get<int64_t>() >= std::numeric_limits<int>::min() &&
                                v.get<int64_t>() <= std::numeric_limits<int>::max();
    if (!fits)
      return error(absl::StrCat("field ", name, " = ", v.dump(), " is out of range (at most ",
                                std::numeric_limits<int>::max(), ")"));
    return v.get<int>();
  }
  absl::Status error(const std::string& problem) const {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": ", problem));
  }

 private:
  const json& j_;
  const std::string& path_;
};

// Unwraps StatusOr values inside the field-by-field parsers below (keeps them linear and short).
#define ALISA_ASSIGN_OR_RETURN(lhs, expr) \
  do {                                    \
    auto alisa_v_ = (expr);               \
    if (!alisa_v_.ok()) return alisa_v_.status(); \
    lhs = *alisa_v_;                      \
  } while (0)

#define ALISA_RETURN_IF_ERROR(expr)                  \
  do {                                               \
    if (absl::Status alisa_s_ = (expr); !alisa_s_.ok()) return alisa_s_; \
  } while (0)

enum class family { llama, opt, unsupported };

family detect_family(const json& j, std::string& name) {
  auto arch = j.find("architectures");
  if (arch != j.end() && arch->is_array() && !arch->empty() && arch->front().is_string()) {
    name = arch->front().get<std::string>();
    if (name == "LlamaForCausalLM" || name == "MistralForCausalLM" || name == "Qwen2ForCausalLM") return family::llama;
    if (name == "OPTForCausalLM") return family::opt;
    return family::unsupported;
  }
  auto type = j.find("model_type");
  name = type != j.end() && type->is_string() ? type->get<std::string>() : "(none: no architectures or model_type)";
  if (name == "llama" || name == "mistral" || name == "qwen2") return family::llama;
  if (name == "opt") return family::opt;
  return family::unsupported;
}

// The sizes every supported architecture requires; only the FFN width's field name differs.
absl::Status read_sizes(const fields& f, const char* ffn_field, model_config& c) {
  ALISA_ASSIGN_OR_RETURN(c.hidden_size, f.required_int("hidden_size"));
  ALISA_ASSIGN_OR_RETURN(c.intermediate_size, f.required_int(ffn_field));
  ALISA_ASSIGN_OR_RETURN(c.num_layers, f.required_int("num_hidden_layers"));
  ALISA_ASSIGN_OR_RETURN(c.num_heads, f.required_int("num_attention_heads"));
  ALISA_ASSIGN_OR_RETURN(c.vocab_size, f.required_int("vocab_size"));
  ALISA_ASSIGN_OR_RETURN(c.max_position_embeddings, f.required_int("max_position_embeddings"));
  if (c.num_heads <= 0) return f.error("num_attention_heads must be positive");
  return absl::OkStatus();
}

absl::StatusOr<model_config> parse_llama(const fields& f, const std::string& model_type) {
  model_config c;
  c.arch = architecture::llama;
  c.norm = norm_kind::rms_norm;
  c.activation = activation_kind::silu_gated;
  c.rope = rope_layout::rotate_half;
  ALISA_RETURN_IF_ERROR(read_sizes(f, "intermediate_size", c));
  ALISA_ASSIGN_OR_RETURN(c.num_kv_heads, f.optional_int("num_key_value_heads", c.num_heads));
  ALISA_ASSIGN_OR_RETURN(c.head_dim, f.optional_int("head_dim", c.hidden_size / c.num_heads));
  ALISA_ASSIGN_OR_RETURN(c.norm_eps, f.optional_float("rms_norm_eps", 1e-6f));  // HF LlamaConfig default
  ALISA_ASSIGN_OR_RETURN(c.rope_theta, f.optional_float("rope_theta", 10000.0f));
  ALISA_ASSIGN_OR_RETURN(c.tie_word_embeddings, f.optional_bool("tie_word_embeddings", false));
  // Qwen2 always carries q/k/v biases and has no attention_bias field.
  ALISA_ASSIGN_OR_RETURN(c.attention_bias, f.optional_bool("attention_bias", model_type == "qwen2"));
  ALISA_ASSIGN_OR_RETURN(c.mlp_bias, f.optional_bool("mlp_bias", false));
  ALISA_ASSIGN_OR_RETURN(c.bos_token_id, f.optional_int("bos_token_id", 1));
  ALISA_ASSIGN_OR_RETURN(c.eos_token_id, f.optional_int("eos_token_id", 2));
  // layer_weights has no slot for a gate_proj bias, so refuse rather than drop it.
  if (c.mlp_bias) return f.error("mlp_bias=true is not supported for the Llama family");
  const std::string act = f.optional_string("hidden_act", "silu");
  if (act != "silu") return f.error(absl::StrCat("unsupported hidden_act '", act, "' (only silu)"));
  // Scaled RoPE (linear, dynamic, yarn, llama3) changes the angles; silently ignoring it would give
  // a model that loads but generates garbage at long positions.
  if (f.present_non_null("rope_scaling")) return f.error("rope_scaling is not supported (must be null or absent)");
  // Mistral-style sliding-window masking would make every position past the window differ from
  // full causal attention; Qwen2 configs carry a window but switch it off with use_sliding_window.
  int window = 0;
  ALISA_ASSIGN_OR_RETURN(window, f.optional_int("sliding_window", 0));
  bool use_window = true;
  ALISA_ASSIGN_OR_RETURN(use_window, f.optional_bool("use_sliding_window", model_type != "qwen2"));
  if (use_window && window > 0 && window < c.max_position_embeddings) {
    return f.error(absl::StrCat("sliding_window ", window, " < max_position_embeddings ", c.max_position_embeddings,
                                " is not supported (full causal attention only)"));
  }
  return c;
}

absl::StatusOr<model_config> parse_opt(const fields& f) {
  model_config c;
  c.arch = architecture::opt;
  c.norm = norm_kind::layer_norm;
  c.activation = activation_kind::relu;
  c.rope = rope_layout::none;
  c.norm_eps = 1e-5f;  // nn.LayerNorm default; OPT's config has no eps field
  c.position_offset = 2;  // OPTLearnedPositionalEmbedding offsets positions by 2
  ALISA_RETURN_IF_ERROR(read_sizes(f, "ffn_dim", c));
  c.num_kv_heads = c.num_heads;
  c.head_dim = c.hidden_size / c.num_heads;
  ALISA_ASSIGN_OR_RETURN(c.do_layer_norm_before, f.optional_bool("do_layer_norm_before", true));
  ALISA_ASSIGN_OR_RETURN(c.word_embed_proj_dim, f.optional_int("word_embed_proj_dim", c.hidden_size));
  bool bias = true;
  ALISA_ASSIGN_OR_RETURN(bias, f.optional_bool("enable_bias", true));
  c.attention_bias = c.mlp_bias = bias;
  ALISA_ASSIGN_OR_RETURN(c.tie_word_embeddings, f.optional_bool("tie_word_embeddings", true));
  ALISA_ASSIGN_OR_RETURN(c.bos_token_id, f.optional_int("bos_token_id", 2));
  ALISA_ASSIGN_OR_RETURN(c.eos_token_id, f.optional_int("eos_token_id", 2));
  const std::string act = f.optional_string("activation_function", "relu");
  if (act != "relu") return f.error(absl::StrCat("unsupported activation_function '", act, "' (only relu)"));
  bool affine = true;
  ALISA_ASSIGN_OR_RETURN(affine, f.optional_bool("layer_norm_elementwise_affine", true));
  if (!affine) return f.error("layer_norm_elementwise_affine=false is not supported");
  return c;
}

}  // namespace

absl::StatusOr<model_config> parse_hf_config(const std::string& json_text, const std::string& path) {
  json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a valid JSON object"));
  }
  const fields f(j, path);
  std::string name;
  absl::StatusOr<model_config> config;
  switch (detect_family(j, name)) {
    case family::llama: config = parse_llama(f, f.optional_string("model_type", "llama")); break;
    case family::opt: config = parse_opt(f); break;
    case family::unsupported:
      return f.error(absl::StrCat("unsupported architecture ", name,
                                  " (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, OPTForCausalLM)"));
  }
  if (!config.ok()) return config.status();
  if (auto s = validate(*config); !s.ok()) return f.error(std::string(s.message()));
  return config;
}

absl::StatusOr<model_config> load_hf_config(const std::string& config_json_path) {
  std::ifstream in(config_json_path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(config_json_path, ": cannot open"));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_hf_config(text.str(), config_json_path);
}

}  // namespace alisa::model
