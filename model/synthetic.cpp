#include "model/synthetic.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <new>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace alisa::model {
namespace {

struct preset {
  const char* name;
  model_config config;
};

// The sizes every decoder-only preset has; the architecture functions add what differs.
model_config shape(architecture arch, int hidden, int layers, int heads, int kv_heads, int ffn,
                   int vocab, int ctx) {
  model_config c;
  c.arch = arch;
  c.hidden_size = hidden;
  c.num_layers = layers;
  c.num_heads = heads;
  c.num_kv_heads = kv_heads;
  c.head_dim = hidden / heads;
  c.intermediate_size = ffn;
  c.vocab_size = vocab;
  c.max_position_embeddings = ctx;
  c.norm_eps = 1e-5f;
  return c;
}

model_config llama(int hidden, int layers, int heads, int kv_heads, int ffn, int vocab, int ctx, bool tied,
                   rope_layout rope = rope_layout::rotate_half, float theta = 10000.0f) {
  model_config c = shape(architecture::llama, hidden, layers, heads, kv_heads, ffn, vocab, ctx);
  c.tie_word_embeddings = tied;
  c.rope = rope;
  c.rope_theta = theta;
  return c;
}

model_config opt(int hidden, int layers, int heads, int ffn, int vocab, int ctx) {
  model_config c = shape(architecture::opt, hidden, layers, heads, heads, ffn, vocab, ctx);
  c.tie_word_embeddings = true;
  c.norm = norm_kind::layer_norm;
  c.activation = activation_kind::relu;
  c.rope = rope_layout::none;
  c.attention_bias = c.mlp_bias = true;
  c.do_layer_norm_before = true;
  c.word_embed_proj_dim = hidden;
  c.position_offset = 2;
  return c;
}

// Shapes of the real models (HF config.json / llama2.c headers); bos 1, eos 2 for all synthetic ones.
const std::vector<preset>& presets() {
  static const std::vector<preset> table = {
      {"tiny", llama(64, 2, 4, 2, 172, 512, 512, /*tied=*/false)},
      {"tiny-gqa", llama(128, 4, 8, 2, 344, 512, 1024, /*tied=*/true)},
      {"tiny-opt", opt(64, 2, 4, 256, 512, 512)},
      {"stories15m", llama(288, 6, 6, 6, 768, 32000, 256, true, rope_layout::interleaved)},
      {"stories110m", llama(768, 12, 12, 12, 2048, 32000, 1024, true, rope_layout::interleaved)},
      {"smollm2-135m", llama(576, 30, 9, 3, 1536, 49152, 8192, true, rope_layout::rotate_half, 100000.0f)},
      {"opt-125m", opt(768, 12, 12, 3072, 50272, 2048)},
      {"llama-2-7b", llama(4096, 32, 32, 32, 11008, 32000, 4096, /*tied=*/false)},
      {"opt-6.7b", opt(4096, 32, 32, 16384, 50272, 2048)},
  };
  return table;
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// What a tensor is filled with: uniform(-amplitude, amplitude) around `center`.
struct fill_spec {
  tensor_view* target;
  float center;
  float amplitude;
  uint64_t seed;
};

void store(dtype type, void* data, int64_t i, float v) {
  switch (type) {
    case dtype::f32: static_cast<float*>(data)[i] = v; break;
    case dtype::f16: static_cast<uint16_t*>(data)[i] = float_to_f16(v); break;
    case dtype::bf16: static_cast<uint16_t*>(data)[i] = float_to_bf16(v); break;
    case dtype::q8_0: break;  // never generated (local_engine asks for bf16 and quantises at upload)
  }
}

void fill_range(const fill_spec& s, int64_t begin, int64_t end) {
  void* data = const_cast<void*>(s.target->data);  // our own buffer, read-only only once published
  for (int64_t i = begin; i < end; ++i) {
    const uint64_t bits = splitmix64(s.seed + static_cast<uint64_t>(i));
    const float unit = static_cast<float>(bits >> 40) * (2.0f / 16777216.0f) - 1.0f;  // [-1, 1)
    store(s.target->type, data, i, s.center + s.amplitude * unit);
  }
}

// Builds the list of tensors of a model, allocating each and recording how to fill it.
class builder {
 public:
  builder(model_weights& w, dtype type, uint64_t seed) : w_(w), type_(type), seed_(seed) {}

  void weight(tensor_view& t, std::vector<int64_t> shape, int64_t fan_in) {
    add(t, std::move(shape), 0.0f, 1.0f / std::sqrt(static_cast<float>(fan_in)));
  }
  void gain(tensor_view& t, int64_t n) { add(t, {n}, 1.0f, 0.0f); }
  void bias(tensor_view& t, int64_t n) { add(t, {n}, 0.0f, 0.02f); }

  std::vector<fill_spec>& specs() { return specs_; }

 private:
  void add(tensor_view& t, std::vector<int64_t> shape, float center, float amplitude) {
    t.type = type_;
    t.shape = std::move(shape);
    // 64-byte alignment so SIMD backends can use aligned loads on the rows.
    const size_t bytes = std::max<size_t>(t.num_bytes(), 1);
    std::shared_ptr<std::byte> buffer(static_cast<std::byte*>(::operator new[](bytes, std::align_val_t{64})),
                                      [](std::byte* p) { ::operator delete[](p, std::align_val_t{64}); });
    t.data = buffer.get();
    w_.storage.push_back(std::move(buffer));
    // Each tensor gets its own stream: element i of tensor k is hash(seed, k, i).
    const uint64_t stream = splitmix64(seed_ ^ splitmix64(specs_.size() + 1)) << 20;
    specs_.push_back({&t, center, amplitude, stream});
  }

  model_weights& w_;
  dtype type_;
  uint64_t seed_;
  std::vector<fill_spec> specs_;
};

void declare_llama(builder& b, model_weights& w) {
  const model_config& c = w.config;
  const int64_t h = c.hidden_size, ffn = c.intermediate_size;
  b.weight(w.token_embedding, {c.vocab_size, h}, h);
  for (layer_weights& l : w.layers) {
    b.gain(l.attn_norm, h);
    b.weight(l.wq, {c.q_dim(), h}, h);
    b.weight(l.wk, {c.kv_dim(), h}, h);
    b.weight(l.wv, {c.kv_dim(), h}, h);
    b.weight(l.wo, {h, c.q_dim()}, c.q_dim());
    b.gain(l.ffn_norm, h);
    b.weight(l.w_gate, {ffn, h}, h);
    b.weight(l.w_up, {ffn, h}, h);
    b.weight(l.w_down, {h, ffn}, ffn);
  }
  b.gain(w.final_norm, h);
  if (!c.tie_word_embeddings) b.weight(w.lm_head, {c.vocab_size, h}, h);
}

void declare_opt(builder& b, model_weights& w) {
  const model_config& c = w.config;
  const int64_t h = c.hidden_size, ffn = c.intermediate_size;
  b.weight(w.token_embedding, {c.vocab_size, h}, h);
  b.weight(w.position_embedding, {int64_t{c.max_position_embeddings} + c.position_offset, h}, h);
  for (layer_weights& l : w.layers) {
    b.gain(l.attn_norm, h);
    b.bias(l.attn_norm_bias, h);
    for (tensor_view* m : {&l.wq, &l.wk, &l.wv, &l.wo}) b.weight(*m, {h, h}, h);
    for (tensor_view* v : {&l.bq, &l.bk, &l.bv, &l.bo}) b.bias(*v, h);
    b.gain(l.ffn_norm, h);
    b.bias(l.ffn_norm_bias, h);
    b.weight(l.w_up, {ffn, h}, h);
    b.bias(l.b_up, ffn);
    b.weight(l.w_down, {h, ffn}, ffn);
    b.bias(l.b_down, h);
  }
  b.gain(w.final_norm, h);
  b.bias(w.final_norm_bias, h);
  if (!c.tie_word_embeddings) b.weight(w.lm_head, {c.vocab_size, h}, h);
}

// Splits every tensor into chunks and lets all hardware threads pull chunks from one counter.
void fill_all(const std::vector<fill_spec>& specs) {
  constexpr int64_t kChunk = int64_t{1} << 20;
  struct chunk {
    const fill_spec* spec;
    int64_t begin, end;
  };
  std::vector<chunk> chunks;
  for (const fill_spec& s : specs) {
    const int64_t n = s.target->num_elements();
    for (int64_t i = 0; i < n; i += kChunk) chunks.push_back({&s, i, std::min(n, i + kChunk)});
  }
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < chunks.size(); i = next++) fill_range(*chunks[i].spec, chunks[i].begin, chunks[i].end);
  };
  const size_t threads = std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()), chunks.size());
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
}

}  // namespace

std::vector<std::string> synthetic_preset_names() {
  std::vector<std::string> names;
  for (const preset& p : presets()) names.emplace_back(p.name);
  return names;
}

absl::StatusOr<model_config> synthetic_preset_config(const std::string& name, int max_position_embeddings) {
  for (const preset& p : presets()) {
    if (name != p.name) continue;
    model_config c = p.config;
    if (max_position_embeddings > 0) c.max_position_embeddings = max_position_embeddings;
    if (auto s = validate(c); !s.ok()) return s;
    return c;
  }
  return absl::NotFoundError(absl::StrCat("unknown synthetic preset '", name,
                                          "' (valid: ", absl::StrJoin(synthetic_preset_names(), ", "), ")"));
}

absl::StatusOr<model_weights> make_synthetic_model(const std::string& name, const load_options& options) {
  auto config = synthetic_preset_config(name, options.max_position_embeddings);
  if (!config.ok()) return config.status();
  model_weights w;
  w.config = *config;
  w.synthetic = true;
  w.source = "synthetic:" + name;
  w.layers.resize(static_cast<size_t>(config->num_layers));
  // q8_0 is a backend storage format, not one the generator writes: bf16, quantised at upload.
  const dtype generated = options.synthetic_dtype == dtype::q8_0 ? dtype::bf16 : options.synthetic_dtype;
  builder b(w, generated, options.synthetic_seed);
  if (config->arch == architecture::opt) {
    declare_opt(b, w);
  } else {
    declare_llama(b, w);
  }
  fill_all(b.specs());
  if (config->tie_word_embeddings) w.lm_head = w.token_embedding;
  return w;
}

}  // namespace alisa::model
