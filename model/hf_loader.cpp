#include "model/hf_loader.hpp"

#include <filesystem>
#include <initializer_list>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/hf_config.hpp"

namespace alisa::model {
namespace {

using shape_t = std::vector<int64_t>;

// Looks tensors up under the prefixes an architecture's checkpoints use, checks shapes, and keeps
// the first error so the per-architecture code below reads as a plain list of tensors.
class binder {
 public:
  binder(const tensor_table& table, std::vector<std::string> prefixes, std::string source)
      : table_(table), prefixes_(std::move(prefixes)), source_(std::move(source)) {}

  tensor_view required(const std::string& name, const shape_t& shape) {
    tensor_view t = optional(name, shape);
    if (!t.present() && status_.ok()) {
      status_ = absl::InvalidArgumentError(absl::StrCat(source_, ": missing tensor ", prefixes_.front(), name));
    }
    return t;
  }

  tensor_view optional(const std::string& name, const shape_t& shape) {
    for (const std::string& prefix : prefixes_) {
      const std::string full = prefix + name;
      if (const tensor_view* t = table_.find(full)) return checked(full, *t, shape);
    }
    return {};
  }

  bool has(const std::string& name) const {
    for (const std::string& prefix : prefixes_) {
      if (table_.find(prefix + name) != nullptr) return true;
    }
    return false;
  }

  const absl::Status& status() const { return status_; }

 private:
  tensor_view checked(const std::string& full, const tensor_view& t, const shape_t& shape) {
    if (t.shape != shape && status_.ok()) {
      auto origin = table_.origin.find(full);
      status_ = absl::InvalidArgumentError(absl::StrCat(
          origin == table_.origin.end() ? source_ : origin->second, ": tensor ", full, " has shape [",
          absl::StrJoin(t.shape, ","), "], expected [", absl::StrJoin(shape, ","), "]"));
    }
    return t;
  }

  const tensor_table& table_;
  std::vector<std::string> prefixes_;
  std::string source_;
  absl::Status status_;
};

// lm_head sits outside the decoder ("lm_head.weight"); absent (or tie_word_embeddings) => tied.
void bind_lm_head(const tensor_table& table, model_weights& w, int64_t vocab, int64_t embed, const std::string& source,
                  absl::Status& status) {
  binder head(table, {"", "model."}, source);
  tensor_view lm = w.config.tie_word_embeddings ? tensor_view{} : head.optional("lm_head.weight", {vocab, embed});
  if (!head.status().ok() && status.ok()) status = head.status();
  w.lm_head = lm.present() ? lm : w.token_embedding;
  w.config.tie_word_embeddings = !lm.present();
}

void bind_llama(binder& b, model_weights& w) {
  const model_config& c = w.config;
  const int64_t h = c.hidden_size, q = c.q_dim(), kv = c.kv_dim(), ffn = c.intermediate_size;
  w.token_embedding = b.required("embed_tokens.weight", {c.vocab_size, h});
  for (int i = 0; i < c.num_layers && b.status().ok(); ++i) {
    const std::string p = absl::StrCat("layers.", i, ".");
    layer_weights& l = w.layers[static_cast<size_t>(i)];
    l.attn_norm = b.required(p + "input_layernorm.weight", {h});
    l.wq = b.required(p + "self_attn.q_proj.weight", {q, h});
    l.wk = b.required(p + "self_attn.k_proj.weight", {kv, h});
    l.wv = b.required(p + "self_attn.v_proj.weight", {kv, h});
    l.wo = b.required(p + "self_attn.o_proj.weight", {h, q});
    if (c.attention_bias) {  // Qwen2 has q/k/v biases but no o_proj bias
      l.bq = b.required(p + "self_attn.q_proj.bias", {q});
      l.bk = b.required(p + "self_attn.k_proj.bias", {kv});
      l.bv = b.required(p + "self_attn.v_proj.bias", {kv});
      l.bo = b.optional(p + "self_attn.o_proj.bias", {h});
    }
    l.ffn_norm = b.required(p + "post_attention_layernorm.weight", {h});
    l.w_gate = b.required(p + "mlp.gate_proj.weight", {ffn, h});
    l.w_up = b.required(p + "mlp.up_proj.weight", {ffn, h});
    l.w_down = b.required(p + "mlp.down_proj.weight", {h, ffn});
  }
  w.final_norm = b.required("norm.weight", {h});
}

void bind_opt(binder& b, model_weights& w) {
  const model_config& c = w.config;
  const int64_t h = c.hidden_size, e = c.embed_dim(), ffn = c.intermediate_size;
  w.token_embedding = b.required("embed_tokens.weight", {c.vocab_size, e});
  w.position_embedding = b.required("embed_positions.weight", {c.max_position_embeddings + c.position_offset, h});
  if (e != h) {  // HF only creates the projections when the widths differ
    w.project_in = b.required("project_in.weight", {h, e});
    w.project_out = b.required("project_out.weight", {e, h});
  }
  // Post-LN OPT (350m) has no final LayerNorm; pre-LN checkpoints may drop it too
  // (_remove_final_layer_norm), so it is optional and the forward pass applies it when present.
  if (c.do_layer_norm_before) {
    w.final_norm = b.optional("final_layer_norm.weight", {h});
    w.final_norm_bias = b.optional("final_layer_norm.bias", {h});
  }
  const bool bias = c.attention_bias;
  auto bias_of = [&](const std::string& name, int64_t n) { return bias ? b.required(name, {n}) : tensor_view{}; };
  for (int i = 0; i < c.num_layers && b.status().ok(); ++i) {
    const std::string p = absl::StrCat("layers.", i, ".");
    layer_weights& l = w.layers[static_cast<size_t>(i)];
    l.attn_norm = b.required(p + "self_attn_layer_norm.weight", {h});
    l.attn_norm_bias = b.required(p + "self_attn_layer_norm.bias", {h});
    l.wq = b.required(p + "self_attn.q_proj.weight", {h, h});
    l.wk = b.required(p + "self_attn.k_proj.weight", {h, h});
    l.wv = b.required(p + "self_attn.v_proj.weight", {h, h});
    l.wo = b.required(p + "self_attn.out_proj.weight", {h, h});
    l.bq = bias_of(p + "self_attn.q_proj.bias", h);
    l.bk = bias_of(p + "self_attn.k_proj.bias", h);
    l.bv = bias_of(p + "self_attn.v_proj.bias", h);
    l.bo = bias_of(p + "self_attn.out_proj.bias", h);
    l.ffn_norm = b.required(p + "final_layer_norm.weight", {h});
    l.ffn_norm_bias = b.required(p + "final_layer_norm.bias", {h});
    l.w_up = b.required(p + "fc1.weight", {ffn, h});
    l.b_up = bias_of(p + "fc1.bias", ffn);
    l.w_down = b.required(p + "fc2.weight", {h, ffn});
    l.b_down = bias_of(p + "fc2.bias", h);
  }
}

}  // namespace

absl::StatusOr<model_weights> bind_hf_tensors(const model_config& config, tensor_table table,
                                              const std::string& source) {
  model_weights w;
  w.config = config;
  w.source = source;
  w.layers.resize(static_cast<size_t>(config.num_layers));
  const bool opt = config.arch == architecture::opt;
  binder b(table, opt ? std::vector<std::string>{"model.decoder.", "decoder.", ""}
                      : std::vector<std::string>{"model.", ""},
           source);
  if (opt) {
    bind_opt(b, w);
  } else {
    bind_llama(b, w);
  }
  if (!b.status().ok()) return b.status();
  absl::Status status;
  bind_lm_head(table, w, config.vocab_size, config.embed_dim(), source, status);
  if (!status.ok()) return status;
  w.storage = std::move(table.storage);
  return w;
}

absl::StatusOr<model_weights> load_hf_directory(const std::string& dir) {
  const std::string config_path = (std::filesystem::path(dir) / "config.json").string();
  std::error_code ec;
  if (!std::filesystem::exists(config_path, ec)) {
    return absl::NotFoundError(absl::StrCat(dir, ": model directory has no config.json"));
  }
  auto config = load_hf_config(config_path);
  if (!config.ok()) return config.status();
  auto table = open_safetensors_dir(dir);
  if (!table.ok()) return table.status();
  return bind_hf_tensors(*config, std::move(*table), dir);
}

}  // namespace alisa::model
