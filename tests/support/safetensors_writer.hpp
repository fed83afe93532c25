#pragma once
// safetensors_writer — header-only helpers that write safetensors files and Hugging Face model
// directories (config.json + model.safetensors, optionally sharded with an index) for tests.
// Includes builders of tiny seeded models: an OPT (biases, LayerNorm, optional project_in/out,
// pre- or post-LN) and a Llama (GQA, untied embeddings, optional attention biases).
// Written independently of model/safetensors.cpp so the parser is tested against a second opinion.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "model/tensor.hpp"
#include "proto/dtype.hpp"

namespace alisa::testing {

struct st_tensor {
  std::string name;
  dtype type = dtype::f32;
  std::vector<int64_t> shape;
  std::vector<float> values;  // numel values; converted to `type` when written
};

inline const char* safetensors_dtype_name(dtype t) {
  switch (t) {
    case dtype::f32: return "F32";
    case dtype::f16: return "F16";
    case dtype::bf16: return "BF16";
    case dtype::q8_0: break;  // not a safetensors type
  }
  return "?";
}

// The exact little-endian bytes `t` occupies in the data section.
inline std::string encode_tensor(const st_tensor& t) {
  std::string bytes;
  for (float v : t.values) {
    if (t.type == dtype::f32) {
      char b[4];
      std::memcpy(b, &v, 4);
      bytes.append(b, 4);
    } else {
      const uint16_t h = t.type == dtype::f16 ? model::float_to_f16(v) : model::float_to_bf16(v);
      const char b[2] = {static_cast<char>(h & 0xff), static_cast<char>(h >> 8)};
      bytes.append(b, 2);
    }
  }
  return bytes;
}

// Assembles a file image from a header JSON text and a data section, padding the header with spaces
// to a multiple of 8 as HF does. `claimed_header_length` (when >= 0) overrides the length prefix to
// fabricate lying files.
inline std::string safetensors_image(std::string header, const std::string& data, int64_t claimed_header_length = -1) {
  while (header.size() % 8 != 0) header.push_back(' ');
  uint64_t length = claimed_header_length >= 0 ? static_cast<uint64_t>(claimed_header_length) : header.size();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((length >> (8 * i)) & 0xff);
  return out + header + data;
}

// A well-formed safetensors image of `tensors`, laid out in order.
inline std::string safetensors_bytes(const std::vector<st_tensor>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  header["__metadata__"] = {{"format", "pt"}};
  std::string data;
  for (const st_tensor& t : tensors) {
    const std::string bytes = encode_tensor(t);
    header[t.name] = {{"dtype", safetensors_dtype_name(t.type)},
                      {"shape", t.shape},
                      {"data_offsets", {data.size(), data.size() + bytes.size()}}};
    data += bytes;
  }
  return safetensors_image(header.dump(), data);
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

inline void write_safetensors(const std::string& path, const std::vector<st_tensor>& tensors) {
  write_file(path, safetensors_bytes(tensors));
}

// A fresh empty directory under the system temp dir, removed when the object dies.
class temp_dir {
 public:
  explicit temp_dir(const std::string& tag = "alisa-test") {
    static int counter = 0;
    const auto base = std::filesystem::temp_directory_path();
    for (;;) {
      path_ = (base / (tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++))).string();
      if (std::filesystem::create_directory(path_)) break;
    }
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Deterministic uniform(center - amplitude, center + amplitude) values (splitmix64 stream).
inline std::vector<float> seeded_values(uint64_t seed, int64_t n, float amplitude, float center = 0.0f) {
  std::vector<float> v(static_cast<size_t>(n));
  uint64_t state = seed * 0x9e3779b97f4a7c15ull + 1;
  for (auto& x : v) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    x = center + amplitude * (static_cast<float>(z >> 40) / 8388608.0f - 1.0f);
  }
  return v;
}

// Collects the tensors of a tiny model with seeded values.
class tensor_list {
 public:
  tensor_list(dtype type, uint64_t seed) : type_(type), seed_(seed) {}
  void matrix(const std::string& name, int64_t out, int64_t in) {
    add(name, {out, in}, 1.0f / std::sqrt(static_cast<float>(in)), 0.0f);
  }
  void gain(const std::string& name, int64_t n) { add(name, {n}, 0.1f, 1.0f); }  // near 1, not 1: catches mix-ups
  void bias(const std::string& name, int64_t n) { add(name, {n}, 0.1f, 0.0f); }
  void embedding(const std::string& name, int64_t rows, int64_t cols) { add(name, {rows, cols}, 1.0f, 0.0f); }
  std::vector<st_tensor> tensors;

 private:
  void add(const std::string& name, std::vector<int64_t> shape, float amplitude, float center) {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    tensors.push_back({name, type_, std::move(shape), seeded_values(seed_ + tensors.size() * 7919, n, amplitude, center)});
  }
  dtype type_;
  uint64_t seed_;
};

struct hf_fixture {
  nlohmann::json config;
  std::vector<st_tensor> tensors;
};

// config.json + model.safetensors in `dir`.
inline void write_hf_dir(const std::string& dir, const hf_fixture& model) {
  write_file(dir + "/config.json", model.config.dump(2));
  write_safetensors(dir + "/model.safetensors", model.tensors);
}

// config.json + model-0000K-of-0000N.safetensors shards + model.safetensors.index.json.
inline void write_sharded_hf_dir(const std::string& dir, const hf_fixture& model, int shards) {
  write_file(dir + "/config.json", model.config.dump(2));
  nlohmann::json weight_map = nlohmann::json::object();
  std::vector<std::vector<st_tensor>> parts(static_cast<size_t>(shards));
  for (size_t i = 0; i < model.tensors.size(); ++i) parts[i % parts.size()].push_back(model.tensors[i]);
  for (int s = 0; s < shards; ++s) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", s + 1, shards);
    write_safetensors(dir + "/" + name, parts[static_cast<size_t>(s)]);
    for (const st_tensor& t : parts[static_cast<size_t>(s)]) weight_map[t.name] = name;
  }
  write_file(dir + "/model.safetensors.index.json",
             nlohmann::json{{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}}.dump(2));
}

struct tiny_llama_options {
  int hidden = 32, layers = 2, heads = 4, kv_heads = 2, ffn = 48, vocab = 64, max_positions = 64;
  bool tied = false;
  bool attention_bias = false;
  float rope_theta = 10000.0f;
  dtype type = dtype::f32;
  uint64_t seed = 1;
};

// HF LlamaForCausalLM layout; GQA when kv_heads < heads; lm_head.weight only when untied.
inline hf_fixture tiny_llama(const tiny_llama_options& o = {}) {
  const int head_dim = o.hidden / o.heads, q = o.heads * head_dim, kv = o.kv_heads * head_dim;
  hf_fixture m;
  m.config = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"},
              {"hidden_size", o.hidden}, {"intermediate_size", o.ffn}, {"num_hidden_layers", o.layers},
              {"num_attention_heads", o.heads}, {"num_key_value_heads", o.kv_heads},
              {"vocab_size", o.vocab}, {"max_position_embeddings", o.max_positions},
              {"rms_norm_eps", 1e-5}, {"rope_theta", o.rope_theta}, {"rope_scaling", nullptr},
              {"hidden_act", "silu"}, {"attention_bias", o.attention_bias},
              {"tie_word_embeddings", o.tied}, {"bos_token_id", 1}, {"eos_token_id", 2}};
  tensor_list t(o.type, o.seed);
  t.embedding("model.embed_tokens.weight", o.vocab, o.hidden);
  for (int l = 0; l < o.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    t.gain(p + "input_layernorm.weight", o.hidden);
    t.matrix(p + "self_attn.q_proj.weight", q, o.hidden);
    t.matrix(p + "self_attn.k_proj.weight", kv, o.hidden);
    t.matrix(p + "self_attn.v_proj.weight", kv, o.hidden);
    t.matrix(p + "self_attn.o_proj.weight", o.hidden, q);
    if (o.attention_bias) {
      t.bias(p + "self_attn.q_proj.bias", q);
      t.bias(p + "self_attn.k_proj.bias", kv);
      t.bias(p + "self_attn.v_proj.bias", kv);
      t.bias(p + "self_attn.o_proj.bias", o.hidden);
    }
    t.gain(p + "post_attention_layernorm.weight", o.hidden);
    t.matrix(p + "mlp.gate_proj.weight", o.ffn, o.hidden);
    t.matrix(p + "mlp.up_proj.weight", o.ffn, o.hidden);
    t.matrix(p + "mlp.down_proj.weight", o.hidden, o.ffn);
  }
  t.gain("model.norm.weight", o.hidden);
  if (!o.tied) t.matrix("lm_head.weight", o.vocab, o.hidden);
  m.tensors = std::move(t.tensors);
  return m;
}

struct tiny_opt_options {
  int hidden = 32, layers = 2, heads = 4, ffn = 64, vocab = 64, max_positions = 32;
  int word_embed_proj_dim = 0;  // 0 = hidden (no project_in/out); otherwise adds them
  bool pre_ln = true;           // do_layer_norm_before
  bool tied = true;
  dtype type = dtype::f32;
  uint64_t seed = 2;
};

// HF OPTForCausalLM layout: learned positions (max_positions + 2 rows), biases everywhere,
// final_layer_norm only when pre-LN.
inline hf_fixture tiny_opt(const tiny_opt_options& o = {}) {
  const int embed = o.word_embed_proj_dim > 0 ? o.word_embed_proj_dim : o.hidden;
  hf_fixture m;
  m.config = {{"architectures", {"OPTForCausalLM"}}, {"model_type", "opt"},
              {"hidden_size", o.hidden}, {"ffn_dim", o.ffn}, {"num_hidden_layers", o.layers},
              {"num_attention_heads", o.heads}, {"vocab_size", o.vocab},
              {"max_position_embeddings", o.max_positions}, {"do_layer_norm_before", o.pre_ln},
              {"word_embed_proj_dim", embed}, {"activation_function", "relu"}, {"enable_bias", true},
              {"tie_word_embeddings", o.tied}, {"bos_token_id", 2}, {"eos_token_id", 2}};
  tensor_list t(o.type, o.seed);
  const std::string d = "model.decoder.";
  t.embedding(d + "embed_tokens.weight", o.vocab, embed);
  t.embedding(d + "embed_positions.weight", o.max_positions + 2, o.hidden);
  if (embed != o.hidden) {
    t.matrix(d + "project_in.weight", o.hidden, embed);
    t.matrix(d + "project_out.weight", embed, o.hidden);
  }
  if (o.pre_ln) {
    t.gain(d + "final_layer_norm.weight", o.hidden);
    t.bias(d + "final_layer_norm.bias", o.hidden);
  }
  for (int l = 0; l < o.layers; ++l) {
    const std::string p = d + "layers." + std::to_string(l) + ".";
    for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
      t.matrix(p + "self_attn." + proj + ".weight", o.hidden, o.hidden);
      t.bias(p + "self_attn." + proj + ".bias", o.hidden);
    }
    t.gain(p + "self_attn_layer_norm.weight", o.hidden);
    t.bias(p + "self_attn_layer_norm.bias", o.hidden);
    t.matrix(p + "fc1.weight", o.ffn, o.hidden);
    t.bias(p + "fc1.bias", o.ffn);
    t.matrix(p + "fc2.weight", o.hidden, o.ffn);
    t.bias(p + "fc2.bias", o.hidden);
    t.gain(p + "final_layer_norm.weight", o.hidden);
    t.bias(p + "final_layer_norm.bias", o.hidden);
  }
  if (!o.tied) t.matrix("lm_head.weight", o.vocab, embed);
  m.tensors = std::move(t.tensors);
  return m;
}

}  // namespace alisa::testing
