#include "model/llama2c_loader.hpp"

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "model/mapped_file.hpp"

namespace alisa::model {
namespace {

constexpr size_t kHeaderBytes = 7 * sizeof(int32_t);

absl::Status bad(const std::string& path, const std::string& problem) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", problem));
}

absl::StatusOr<model_config> config_from_header(const std::byte* data, const std::string& path) {
  int32_t h[7];
  std::memcpy(h, data, sizeof h);
  const char* names[7] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
  for (int i = 0; i < 7; ++i) {
    // Bounds keep the int64 size arithmetic below from overflowing on a hostile header
    // (no real model has 2^20-wide layers or 2^16 layers).
    const int32_t limit = i == 2 ? (1 << 16) : (1 << 20);
    if (h[i] == 0 || h[i] == INT32_MIN || std::abs(h[i]) > limit || (i != 5 && h[i] < 0)) {
      return bad(path, absl::StrCat("llama2.c header field ", names[i], " = ", h[i], " is invalid"));
    }
  }
  model_config c;
  c.arch = architecture::llama;
  c.hidden_size = h[0];
  c.intermediate_size = h[1];
  c.num_layers = h[2];
  c.num_heads = h[3];
  c.num_kv_heads = h[4];
  c.vocab_size = std::abs(h[5]);
  c.tie_word_embeddings = h[5] > 0;  // negative = a separate classifier is stored at the end
  c.max_position_embeddings = h[6];
  if (c.hidden_size % c.num_heads != 0) {
    return bad(path, absl::StrCat("dim ", c.hidden_size, " is not a multiple of n_heads ", c.num_heads));
  }
  c.head_dim = c.hidden_size / c.num_heads;
  c.norm = norm_kind::rms_norm;
  c.norm_eps = 1e-5f;
  c.activation = activation_kind::silu_gated;
  c.rope = rope_layout::interleaved;
  c.rope_theta = 10000.0f;
  c.bos_token_id = 1;
  c.eos_token_id = 2;
  if (auto s = validate(c); !s.ok()) return bad(path, std::string(s.message()));
  return c;
}

// Walks the fp32 arrays in file order, handing out views.
class cursor {
 public:
  explicit cursor(const std::byte* at) : at_(at) {}
  tensor_view take(std::vector<int64_t> shape) {
    tensor_view t;
    t.type = dtype::f32;
    t.shape = std::move(shape);
    t.data = at_;
    at_ += t.num_bytes();
    return t;
  }
  void skip(int64_t floats) { at_ += floats * 4; }

 private:
  const std::byte* at_;
};

// The per-layer arrays are [n_layers][rows][cols]; layer i is a view at offset i*rows*cols.
tensor_view layer_slice(const tensor_view& all, int layer) {
  tensor_view t;
  t.type = all.type;
  t.shape.assign(all.shape.begin() + 1, all.shape.end());
  t.data = static_cast<const std::byte*>(all.data) + static_cast<size_t>(layer) * t.num_bytes();
  return t;
}

int64_t expected_bytes(const model_config& c) {
  const int64_t d = c.hidden_size, L = c.num_layers, ffn = c.intermediate_size, V = c.vocab_size;
  int64_t floats = V * d                                      // embedding
                   + L * d * 2                                // two RMSNorm gains per layer
                   + L * d * (c.q_dim() + 2 * c.kv_dim())     // wq, wk, wv
                   + L * c.q_dim() * d                        // wo
                   + L * ffn * d * 3                          // w1, w2, w3
                   + d                                        // final norm
                   + int64_t{c.max_position_embeddings} * c.head_dim;  // cos + sin tables, head/2 each
  if (!c.tie_word_embeddings) floats += V * d;
  return static_cast<int64_t>(kHeaderBytes) + floats * 4;
}

model_weights bind_views(const model_config& c, const std::byte* data) {
  const int64_t d = c.hidden_size, L = c.num_layers, ffn = c.intermediate_size;
  model_weights w;
  w.config = c;
  cursor at(data + kHeaderBytes);
  w.token_embedding = at.take({c.vocab_size, d});
  const tensor_view attn_norm = at.take({L, d});
  const tensor_view wq = at.take({L, c.q_dim(), d});
  const tensor_view wk = at.take({L, c.kv_dim(), d});
  const tensor_view wv = at.take({L, c.kv_dim(), d});
  const tensor_view wo = at.take({L, d, c.q_dim()});
  const tensor_view ffn_norm = at.take({L, d});
  const tensor_view w1 = at.take({L, ffn, d});
  const tensor_view w2 = at.take({L, d, ffn});
  const tensor_view w3 = at.take({L, ffn, d});
  w.final_norm = at.take({d});
  at.skip(int64_t{c.max_position_embeddings} * c.head_dim);  // legacy RoPE tables: recomputed instead
  w.lm_head = c.tie_word_embeddings ? w.token_embedding : at.take({c.vocab_size, d});
  w.layers.resize(static_cast<size_t>(L));
  for (int i = 0; i < L; ++i) {
    layer_weights& l = w.layers[static_cast<size_t>(i)];
    l.attn_norm = layer_slice(attn_norm, i);
    l.wq = layer_slice(wq, i);
    l.wk = layer_slice(wk, i);
    l.wv = layer_slice(wv, i);
    l.wo = layer_slice(wo, i);
    l.ffn_norm = layer_slice(ffn_norm, i);
    l.w_gate = layer_slice(w1, i);
    l.w_down = layer_slice(w2, i);
    l.w_up = layer_slice(w3, i);
  }
  return w;
}

}  // namespace

absl::StatusOr<model_weights> load_llama2c(const std::string& path) {
  auto file = mapped_file::open(path);
  if (!file.ok()) return file.status();
  const size_t size = (*file)->size();
  if (size < kHeaderBytes) {
    return bad(path, absl::StrCat("truncated: expected at least ", kHeaderBytes, " header bytes, file has ", size));
  }
  auto config = config_from_header((*file)->data(), path);
  if (!config.ok()) return config.status();
  const auto expected = static_cast<uint64_t>(expected_bytes(*config));
  if (size < expected) return bad(path, absl::StrCat("truncated: expected ", expected, " bytes, file has ", size));
  if (size > expected) {
    return bad(path, absl::StrCat("unexpected trailing data: expected ", expected, " bytes, file has ", size,
                                  " (is vocab_size's sign, which marks an untied classifier, right?)"));
  }
  model_weights w = bind_views(*config, (*file)->data());
  w.source = path;
  w.storage.push_back(*file);
  return w;
}

}  // namespace alisa::model
