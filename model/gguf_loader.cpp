#include "model/gguf_loader.hpp"

#include <cstring>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/gguf.hpp"
#include "model/mapped_file.hpp"

namespace alisa::model {
namespace {

absl::Status bad(const std::string& path, const std::string& problem) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", problem));
}

// A required positive integer of the metadata, within int range.
absl::StatusOr<int> required(const gguf_file& f, const std::string& key, const std::string& path) {
  const auto v = f.integer(key);
  if (!v) return bad(path, absl::StrCat("metadata ", key, " is missing or not an integer"));
  if (*v <= 0 || *v > (1 << 24)) return bad(path, absl::StrCat("metadata ", key, " = ", *v, " is out of range"));
  return static_cast<int>(*v);
}

absl::StatusOr<model_config> config_of(const gguf_file& f, const std::string& path) {
  const auto arch = f.text("general.architecture");
  if (!arch) return bad(path, "metadata general.architecture is missing");
  if (*arch != "llama")
    return bad(path, absl::StrCat("architecture '", *arch, "' is not supported (GGUF: llama only)"));
  model_config c;
  c.arch = architecture::llama;
  for (auto [field, key] : {std::pair{&c.hidden_size, "llama.embedding_length"},
                            std::pair{&c.num_layers, "llama.block_count"},
                            std::pair{&c.intermediate_size, "llama.feed_forward_length"},
                            std::pair{&c.num_heads, "llama.attention.head_count"}}) {
    auto v = required(f, key, path);
    if (!v.ok()) return v.status();
    *field = *v;
  }
  c.num_kv_heads = static_cast<int>(f.integer("llama.attention.head_count_kv").value_or(c.num_heads));
  c.max_position_embeddings = static_cast<int>(f.integer("llama.context_length").value_or(2048));
  c.norm_eps = static_cast<float>(f.number("llama.attention.layer_norm_rms_epsilon").value_or(1e-5));
  c.rope_theta = static_cast<float>(f.number("llama.rope.freq_base").value_or(10000.0));
  c.bos_token_id = static_cast<int>(f.integer("tokenizer.ggml.bos_token_id").value_or(1));
  c.eos_token_id = static_cast<int>(f.integer("tokenizer.ggml.eos_token_id").value_or(2));
  if (c.hidden_size % c.num_heads != 0)
    return bad(path, absl::StrCat("embedding_length ", c.hidden_size, " is not a multiple of head_count ", c.num_heads));
  c.head_dim = c.hidden_size / c.num_heads;
  if (auto rot = f.integer("llama.rope.dimension_count"); rot && *rot != c.head_dim)
    return bad(path, absl::StrCat("rope.dimension_count ", *rot, " differs from the head size ", c.head_dim,
                                  " (partial rotary is not supported)"));
  c.norm = norm_kind::rms_norm;
  c.activation = activation_kind::silu_gated;
  c.rope = rope_layout::interleaved;
  const auto* embd = f.tensors.count("token_embd.weight") ? &f.tensors.at("token_embd.weight") : nullptr;
  if (!embd || embd->dims.size() != 2) return bad(path, "tensor token_embd.weight is missing or not 2-D");
  if (embd->dims[1] > (1 << 24)) return bad(path, "token_embd.weight has an absurd vocabulary");
  c.vocab_size = static_cast<int>(embd->dims[1]);
  c.tie_word_embeddings = f.tensors.count("output.weight") == 0;
  if (auto s = validate(c); !s.ok()) return bad(path, std::string(s.message()));
  return c;
}

// Q4_0 blocks as Q8_0 blocks, exactly: a Q4_0 value is d · (q - 8) with q in [0, 15], which is
// a Q8_0 block with the same scale d and codes q - 8. The backends then run them with their q8_0
// kernels (1.06 bytes per weight in RAM instead of the file's 0.56; there is no 4-bit kernel).
std::shared_ptr<std::vector<std::byte>> q4_0_as_q8_0(const gguf_tensor& t) {
  const int64_t blocks = t.num_elements() / 32;
  auto out = std::make_shared<std::vector<std::byte>>(static_cast<size_t>(blocks) * kQ8BlockBytes);
  for (int64_t b = 0; b < blocks; ++b) {
    const std::byte* in = t.data + b * ggml_block_bytes(ggml_type::q4_0);
    std::byte* o = out->data() + b * static_cast<int64_t>(kQ8BlockBytes);
    std::memcpy(o, in, 2);  // the fp16 scale
    for (int j = 0; j < 16; ++j) {
      const auto q = static_cast<uint8_t>(in[2 + j]);
      o[2 + j] = static_cast<std::byte>(static_cast<int8_t>((q & 0x0F) - 8));
      o[2 + j + 16] = static_cast<std::byte>(static_cast<int8_t>((q >> 4) - 8));
    }
  }
  return out;
}

class binder {
 public:
  binder(const gguf_file& f, const std::string& path, model_weights& w) : f_(f), path_(path), w_(w) {}

  // The tensor `name` as a view of `shape` (ours: [out, in]; GGUF's dims are the reverse).
  absl::StatusOr<tensor_view> take(const std::string& name, std::vector<int64_t> shape) {
    auto it = f_.tensors.find(name);
    if (it == f_.tensors.end()) return bad(path_, absl::StrCat("tensor ", name, " is missing"));
    const gguf_tensor& t = it->second;
    const std::vector<int64_t> expected(shape.rbegin(), shape.rend());
    if (t.dims != expected)
      return bad(path_, absl::StrCat("tensor ", name, " has dims [", absl::StrJoin(t.dims, ","),
                                     "], expected [", absl::StrJoin(expected, ","), "]"));
    tensor_view v;
    v.shape = std::move(shape);
    switch (t.type) {
      case ggml_type::f32: v.type = dtype::f32; v.data = t.data; break;
      case ggml_type::f16: v.type = dtype::f16; v.data = t.data; break;
      case ggml_type::bf16: v.type = dtype::bf16; v.data = t.data; break;
      case ggml_type::q8_0: v.type = dtype::q8_0; v.data = t.data; break;  // blocks as stored
      case ggml_type::q4_0: {
        auto blocks = q4_0_as_q8_0(t);
        v.type = dtype::q8_0;
        v.data = blocks->data();
        w_.storage.push_back(std::move(blocks));
        break;
      }
    }
    return v;
  }

 private:
  const gguf_file& f_;
  const std::string& path_;
  model_weights& w_;
};

absl::Status bind_tensors(const gguf_file& f, const std::string& path, model_weights& w) {
  const model_config& c = w.config;
  const int64_t d = c.hidden_size, ffn = c.intermediate_size;
  binder b(f, path, w);
  auto take = [&](tensor_view& slot, const std::string& name, std::vector<int64_t> shape) {
    auto v = b.take(name, std::move(shape));
    if (!v.ok()) return v.status();
    slot = std::move(*v);
    return absl::OkStatus();
  };
  if (auto s = take(w.token_embedding, "token_embd.weight", {c.vocab_size, d}); !s.ok()) return s;
  if (auto s = take(w.final_norm, "output_norm.weight", {d}); !s.ok()) return s;
  if (c.tie_word_embeddings) {
    w.lm_head = w.token_embedding;
  } else if (auto s = take(w.lm_head, "output.weight", {c.vocab_size, d}); !s.ok()) {
    return s;
  }
  w.layers.resize(static_cast<size_t>(c.num_layers));
  for (int i = 0; i < c.num_layers; ++i) {
    layer_weights& l = w.layers[static_cast<size_t>(i)];
    const std::string p = absl::StrCat("blk.", i, ".");
    for (auto [slot, name, shape] :
         {std::tuple{&l.attn_norm, "attn_norm", std::vector<int64_t>{d}},
          std::tuple{&l.wq, "attn_q", std::vector<int64_t>{c.q_dim(), d}},
          std::tuple{&l.wk, "attn_k", std::vector<int64_t>{c.kv_dim(), d}},
          std::tuple{&l.wv, "attn_v", std::vector<int64_t>{c.kv_dim(), d}},
          std::tuple{&l.wo, "attn_output", std::vector<int64_t>{d, c.q_dim()}},
          std::tuple{&l.ffn_norm, "ffn_norm", std::vector<int64_t>{d}},
          std::tuple{&l.w_gate, "ffn_gate", std::vector<int64_t>{ffn, d}},
          std::tuple{&l.w_up, "ffn_up", std::vector<int64_t>{ffn, d}},
          std::tuple{&l.w_down, "ffn_down", std::vector<int64_t>{d, ffn}}})
      if (auto s = take(*slot, p + name + ".weight", shape); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<model_weights> load_gguf(const std::string& path) {
  auto file = mapped_file::open(path);
  if (!file.ok()) return file.status();
  auto gguf = parse_gguf((*file)->data(), (*file)->size(), path);
  if (!gguf.ok()) return gguf.status();
  auto config = config_of(*gguf, path);
  if (!config.ok()) return config.status();
  model_weights w;
  w.config = *config;
  w.source = path;
  w.storage.push_back(*file);
  if (absl::Status s = bind_tensors(*gguf, path, w); !s.ok()) return s;
  return w;
}

absl::StatusOr<std::string> gguf_chat_template(const std::string& path) {
  auto file = mapped_file::open(path);
  if (!file.ok()) return file.status();
  auto gguf = parse_gguf((*file)->data(), (*file)->size(), path);
  if (!gguf.ok()) return gguf.status();
  const gguf_value* v = gguf->find("tokenizer.chat_template");
  if (v == nullptr) return std::string();
  if (auto text = gguf->text("tokenizer.chat_template")) return *text;
  return bad(path, "tokenizer.chat_template is not a string");
}

}  // namespace alisa::model
