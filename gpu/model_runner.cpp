#include "gpu/model_runner.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>

#include "gpu/kv_traffic.hpp"

namespace alisa::gpu {
namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point start) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

}  // namespace

using model::architecture;
using model::norm_kind;

struct model_runner::layer {
  weight_matrix wq, wk, wv, wo, w_gate, w_up, w_down;
  const float* attn_norm = nullptr;
  const float* attn_norm_bias = nullptr;
  const float* ffn_norm = nullptr;
  const float* ffn_norm_bias = nullptr;
};

// Activation buffers for `rows` token rows, grown on demand and reused across steps so a decode
// step allocates nothing.
struct model_runner::scratch {
  backend& be;
  int rows = 0;
  int logit_rows = 0;
  float *x = nullptr, *h = nullptr, *q = nullptr, *k = nullptr, *v = nullptr, *attn = nullptr;
  float *ffn_a = nullptr, *ffn_b = nullptr, *tmp = nullptr, *logits = nullptr, *final_h = nullptr;
  // Per request of a step: the token set its selection chose and the backend buffer the
  // attention op writes its mass into (grown on demand).
  std::vector<token_set> sets;
  std::vector<float*> mass;
  std::vector<size_t> mass_floats;
  attention_mass host_mass;
  // Per tiered request: the rows gathered for the current layer (fp32 staging the attention op
  // reads as a dense cache), hidden rows and projections of rows to recompute, and the set
  // renumbered onto the staging rows.
  struct gathered {
    size_t rows = 0;  // capacity of each buffer, in token rows
    float *keys = nullptr, *values = nullptr, *hidden = nullptr, *rk = nullptr, *rv = nullptr;
    std::vector<int32_t> positions, recompute, recompute_positions;
    token_set compact;
    int original_past = 0;
  };
  std::vector<gathered> gather;
  explicit scratch(backend& b) : be(b) {}
  ~scratch() {
    release_all();
    if (logits) be.release(logits);
    for (float* m : mass)
      if (m) be.release(m);
    for (auto& g : gather) release_gathered(g);
  }
  void release_gathered(gathered& g) {
    for (float* p : {g.keys, g.values, g.hidden, g.rk, g.rv})
      if (p) be.release(p);
  }
  // Grows request i's gather buffers to hold `n` rows of kv_dim (hidden: hidden_size) floats.
  // Precondition: ensure_requests() covered i (growing `gather` here would move the compact sets
  // earlier items of the step point at).
  gathered& gathered_for(size_t i, size_t n, const model::model_config& c) {
    gathered& g = gather[i];
    if (g.rows < n) {
      release_gathered(g);
      g.rows = std::max(n, 2 * g.rows);
      g.keys = alloc(static_cast<int>(g.rows), c.kv_dim());
      g.values = alloc(static_cast<int>(g.rows), c.kv_dim());
      g.rk = alloc(static_cast<int>(g.rows), c.kv_dim());
      g.rv = alloc(static_cast<int>(g.rows), c.kv_dim());
      g.hidden = alloc(static_cast<int>(g.rows), std::max<int64_t>(c.hidden_size, c.embed_dim()));
    }
    return g;
  }
  void ensure_requests(size_t count) {
    if (sets.size() < count) sets.resize(count);
    if (gather.size() < count) gather.resize(count);
    if (mass.size() < count) {
      mass.resize(count, nullptr);
      mass_floats.resize(count, 0);
    }
  }
  float* mass_buffer(size_t i, size_t floats) {
    if (mass_floats[i] < floats) {
      if (mass[i]) be.release(mass[i]);
      mass_floats[i] = std::max(floats, 2 * mass_floats[i]);
      mass[i] = static_cast<float*>(be.allocate(mass_floats[i] * sizeof(float)));
    }
    return mass[i];
  }
  void release_all() {
    for (float* p : {x, h, q, k, v, attn, ffn_a, ffn_b, tmp, final_h})
      if (p) be.release(p);
  }
  float* alloc(int n, int64_t width) {
    return static_cast<float*>(be.allocate(static_cast<size_t>(n) * width * sizeof(float)));
  }
  void ensure(int n, const model::model_config& c) {
    if (n <= rows) return;
    release_all();
    rows = std::max(n, 2 * rows);
    const int64_t wide = std::max<int64_t>(c.hidden_size, c.embed_dim());
    x = alloc(rows, wide);
    h = alloc(rows, wide);
    tmp = alloc(rows, wide);
    final_h = alloc(rows, wide);
    q = alloc(rows, c.q_dim());
    attn = alloc(rows, c.q_dim());
    k = alloc(rows, c.kv_dim());
    v = alloc(rows, c.kv_dim());
    ffn_a = alloc(rows, c.intermediate_size);
    ffn_b = alloc(rows, c.intermediate_size);
  }
  // Logits are needed for few rows (one per sequence) except in evaluation: sized separately so a
  // long prefill does not allocate rows x vocab floats.
  void ensure_logits(int n, const model::model_config& c) {
    if (n <= logit_rows) return;
    if (logits) be.release(logits);
    logit_rows = std::max(n, 2 * logit_rows);
    logits = alloc(logit_rows, c.vocab_size);
  }
};

model_runner::model_runner(backend& be, const model::model_weights& weights,
                           const runner_options& options)
    : backend_(be),
      config_(weights.config),
      weight_type_(options.weight_type),
      quantise_only_quantised_(options.quantise_only_quantised),
      kv_type_(options.kv_type),
      scratch_(std::make_unique<scratch>(be)) {
  upload_weights(weights);
}

model_runner::~model_runner() {
  scratch_.reset();  // releases through the backend, which outlives the runner
}

void model_runner::upload_weights(const model::model_weights& w) {
  const model::tensor_view none{};
  auto type_of = [&](const model::tensor_view& t) {
    const bool keep_as_stored = quantise_only_quantised_ && weight_type_ == dtype::q8_0 && t.type != dtype::q8_0;
    return keep_as_stored ? dtype::f32 : weight_type_;
  };
  auto matrix = [&](const model::tensor_view& t, const model::tensor_view& bias) {
    if (!t.present()) return weight_matrix{};
    weight_matrix m = backend_.upload_matrix(t, bias, type_of(t));
    weight_bytes_per_step_ += m.num_bytes();
    return m;
  };
  layers_.resize(w.layers.size());
  for (size_t i = 0; i < w.layers.size(); ++i) {
    const auto& src = w.layers[i];
    auto& dst = layers_[i];
    dst.wq = matrix(src.wq, src.bq);
    dst.wk = matrix(src.wk, src.bk);
    dst.wv = matrix(src.wv, src.bv);
    dst.wo = matrix(src.wo, src.bo);
    dst.w_gate = matrix(src.w_gate, none);
    dst.w_up = matrix(src.w_up, src.b_up);
    dst.w_down = matrix(src.w_down, src.b_down);
    dst.attn_norm = backend_.upload_vector(src.attn_norm);
    dst.attn_norm_bias = backend_.upload_vector(src.attn_norm_bias);
    dst.ffn_norm = backend_.upload_vector(src.ffn_norm);
    dst.ffn_norm_bias = backend_.upload_vector(src.ffn_norm_bias);
  }
  // Embedding tables are gathered a few rows per step, not streamed: not counted as bytes read,
  // except when the table doubles as the (tied) classifier.
  token_embedding_ = backend_.upload_matrix(w.token_embedding, none, type_of(w.token_embedding));
  if (w.position_embedding.present())
    position_embedding_ = backend_.upload_matrix(w.position_embedding, none, dtype::f32);
  project_in_ = matrix(w.project_in, none);
  project_out_ = matrix(w.project_out, none);
  final_norm_ = backend_.upload_vector(w.final_norm);
  final_norm_bias_ = backend_.upload_vector(w.final_norm_bias);
  const bool tied = !w.lm_head.present() || w.lm_head.data == w.token_embedding.data;
  if (tied) {
    lm_head_ = token_embedding_;
    weight_bytes_per_step_ += lm_head_.num_bytes();
  } else {
    lm_head_ = matrix(w.lm_head, none);
  }
}

std::unique_ptr<dense_kv_cache> model_runner::make_cache(int capacity) {
  if (capacity <= 0) capacity = config_.max_position_embeddings;
  return std::make_unique<dense_kv_cache>(backend_, config_.num_layers, config_.kv_dim(), capacity,
                                          kv_type_);
}

void model_runner::validate(std::span<const forward_request> requests) const {
  if (requests.empty()) throw std::invalid_argument("forward: no requests");
  for (const auto& r : requests)
    if ((r.cache == nullptr) == (r.source == nullptr) || r.tokens.empty())
      throw std::invalid_argument(
          "forward: a request needs exactly one of a cache or a kv source, and tokens");
  // Two requests on one cache would both write at the same positions.
  for (size_t i = 0; i < requests.size(); ++i)
    for (size_t j = i + 1; j < requests.size(); ++j)
      if (requests[i].cache == requests[j].cache && requests[i].source == requests[j].source)
        throw std::invalid_argument("forward: two requests share one KV cache");
  for (const auto& r : requests) {
    if (r.length() + static_cast<int>(r.tokens.size()) > r.capacity())
      throw std::invalid_argument("forward: sequence of " +
                                  std::to_string(r.length() + r.tokens.size()) +
                                  " tokens exceeds the context of " +
                                  std::to_string(r.capacity()));
    for (int32_t t : r.tokens)
      if (t < 0 || t >= config_.vocab_size)
        throw std::invalid_argument("forward: token id " + std::to_string(t) +
                                    " is outside the vocabulary of " +
                                    std::to_string(config_.vocab_size));
  }
}

void model_runner::forward(std::span<const forward_request> requests, std::vector<float>& logits) {
  validate(requests);
  host_tokens_.clear();
  host_positions_.clear();
  for (const auto& r : requests) {
    for (size_t i = 0; i < r.tokens.size(); ++i) {
      host_tokens_.push_back(r.tokens[i]);
      host_positions_.push_back(r.length() + static_cast<int32_t>(i));
    }
  }
  const int n = static_cast<int>(host_tokens_.size());
  scratch_->ensure(n, config_);
  embed_tokens(n);
  for (size_t i = 0; i < layers_.size(); ++i) {
    current_layer_ = static_cast<int>(i);
    run_layer(layers_[i], requests, n);
  }
  for (const auto& r : requests) {
    if (r.cache)
      r.cache->advance(static_cast<int>(r.tokens.size()));
    else
      r.source->advance(static_cast<int>(r.tokens.size()));
  }
  compute_logits(gather_logit_rows(requests, n), logits);
}

void model_runner::embed_tokens(int n) {
  auto& s = *scratch_;
  if (project_in_.data) {
    backend_.embed(host_tokens_.data(), n, token_embedding_, s.h);
    backend_.linear(s.h, n, project_in_, s.x);
  } else {
    backend_.embed(host_tokens_.data(), n, token_embedding_, s.x);
  }
  if (position_embedding_.data) {
    // OPT's learned positions are stored with an offset (2): row = position + offset.
    std::vector<int32_t> rows(host_positions_);
    for (auto& p : rows) p += config_.position_offset;
    backend_.embed(rows.data(), n, position_embedding_, s.tmp);
    backend_.add(s.x, s.tmp, static_cast<int64_t>(n) * config_.hidden_size);
  }
}

void model_runner::norm(const float* x, int n, const float* gain, const float* bias, float* y) {
  if (config_.norm == norm_kind::rms_norm)
    backend_.rms_norm(x, n, config_.hidden_size, gain, config_.norm_eps, y);
  else
    backend_.layer_norm(x, n, config_.hidden_size, gain, bias, config_.norm_eps, y);
}

void model_runner::run_layer(const layer& l, std::span<const forward_request> requests, int n) {
  auto& s = *scratch_;
  const int64_t count = static_cast<int64_t>(n) * config_.hidden_size;
  if (config_.do_layer_norm_before) {
    // Pre-norm (Llama, most OPT sizes): x += attn(norm(x)); x += ffn(norm(x)).
    norm(s.x, n, l.attn_norm, l.attn_norm_bias, s.h);
    attention_block(l, requests, n);
    backend_.add(s.x, s.tmp, count);
    norm(s.x, n, l.ffn_norm, l.ffn_norm_bias, s.h);
    ffn_block(l, n);
    backend_.add(s.x, s.tmp, count);
  } else {
    // Post-norm (OPT-350m): x = norm(x + attn(x)); x = norm(x + ffn(x)).
    backend_.copy(s.h, s.x, count * sizeof(float));
    attention_block(l, requests, n);
    backend_.add(s.x, s.tmp, count);
    norm(s.x, n, l.attn_norm, l.attn_norm_bias, s.x);
    backend_.copy(s.h, s.x, count * sizeof(float));
    ffn_block(l, n);
    backend_.add(s.x, s.tmp, count);
    norm(s.x, n, l.ffn_norm, l.ffn_norm_bias, s.x);
  }
}

// Reads s.h (the normalised input), leaves the attention block's output in s.tmp.
void model_runner::attention_block(const layer& l, std::span<const forward_request> requests,
                                   int n) {
  auto& s = *scratch_;
  backend_.linear(s.h, n, l.wq, s.q);
  // Row-exact, so K/V recomputed later from the stored s.h rows equal these bit for bit.
  backend_.linear_row_exact(s.h, n, l.wk, s.k);
  backend_.linear_row_exact(s.h, n, l.wv, s.v);
  if (config_.rope != model::rope_layout::none) {
    backend_.rope(s.q, n, config_.num_heads, config_.head_dim, host_positions_.data(),
                  config_.rope_theta, config_.rope);
    backend_.rope(s.k, n, config_.num_kv_heads, config_.head_dim, host_positions_.data(),
                  config_.rope_theta, config_.rope);
  }
  store_kv(current_layer_, requests);
  auto items = attention_items(requests);
  for (size_t i = 0; i < requests.size(); ++i) {
    if (requests[i].source) gather_tiered(l, requests[i], i, items[i]);
    if (requests[i].selection) request_mass(requests[i], i, items[i]);
  }
  const attention_shape shape{config_.num_heads, config_.num_kv_heads, config_.head_dim,
                              1.0f / std::sqrt(static_cast<float>(config_.head_dim))};
  if (backend_.asynchronous()) {
    // Timing it would need a device sync before and after, draining the stream every layer.
    backend_.attention(items, shape);
  } else {
    const auto start = clock_type::now();
    backend_.attention(items, shape);
    backend_.synchronize();
    counters_.attention_ms += ms_since(start);
  }
  report_mass(requests, items);
  backend_.linear(s.attn, n, l.wo, s.tmp);
}

// One attention item per request for the current layer: typed KV rows, the token set the
// request's selection chooses for a single-row step (dense otherwise), and where the mass goes.
std::vector<attention_item> model_runner::attention_items(
    std::span<const forward_request> requests) {
  auto& s = *scratch_;
  s.ensure_requests(requests.size());
  std::vector<attention_item> items(requests.size());
  int row = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    attention_item& item = items[i];
    item.q = s.q + static_cast<size_t>(row) * config_.q_dim();
    item.out = s.attn + static_cast<size_t>(row) * config_.q_dim();
    if (r.cache) {
      item.keys = r.cache->keys(current_layer_);
      item.values = r.cache->values(current_layer_);
    }
    item.num_rows = static_cast<int>(r.tokens.size());
    item.past_len = r.length();
    item.tokens = &s.sets[i];
    select_tokens(r, i);
    if (item.num_rows == 1) count_decode_row(item);
    row += item.num_rows;
  }
  return items;
}

// Asks the request's selection for this layer's token set (single-row steps only).
void model_runner::select_tokens(const forward_request& r, size_t index) {
  token_set& set = scratch_->sets[index];
  if (!r.selection || r.tokens.size() != 1) {
    set.set_dense();
    return;
  }
  const auto start = clock_type::now();
  r.selection->select(current_layer_, r.length() + 1, set);
  counters_.selection_ms += ms_since(start);
}

void model_runner::count_decode_row(const attention_item& item) {
  const int visible = item.past_len + 1;
  counters_.num_decode_row_layers += 1;
  if (current_layer_ == 0) counters_.num_decode_rows += 1;
  counters_.tokens_attended += item.tokens->tokens_attended(visible);
  counters_.kv_bytes_read +=
      kv_bytes_read(*item.tokens, visible, visible, config_.kv_dim(), kv_type_);
}

// Points the item's mass output at a buffer sized for what the selection wants.
void model_runner::request_mass(const forward_request& r, size_t index, attention_item& item) {
  const mass_request want = r.selection->wanted_mass(current_layer_, item.num_rows);
  if (want.num_rows <= 0) return;
  item.mass_rows = want;
  item.mass_rows.num_rows = std::min(want.num_rows, item.num_rows);
  const int out_rows = want.sum_rows ? 1 : item.mass_rows.num_rows;
  const int cols = item.tokens->dense ? item.past_len + item.num_rows : item.tokens->list_size;
  item.mass = scratch_->mass_buffer(
      index, static_cast<size_t>(out_rows) * config_.num_kv_heads * static_cast<size_t>(cols));
}

// Hands each selection the mass its rows gave to the set it chose.
void model_runner::report_mass(std::span<const forward_request> requests,
                               std::span<const attention_item> items) {
  const auto start = clock_type::now();
  attention_mass& m = scratch_->host_mass;
  for (size_t i = 0; i < requests.size(); ++i) {
    const attention_item& item = items[i];
    if (!item.mass) continue;
    m.num_rows = item.mass_rows.sum_rows ? 1 : item.mass_rows.num_rows;
    m.num_kv_heads = config_.num_kv_heads;
    m.num_cols = item.tokens->dense ? item.past_len + item.num_rows : item.tokens->list_size;
    m.first_row_position = requests[i].length() + item.num_rows - item.mass_rows.num_rows;
    m.values.resize(static_cast<size_t>(m.num_rows) * m.num_kv_heads * m.num_cols);
    backend_.download(m.values.data(), item.mass, m.values.size() * sizeof(float));
    requests[i].selection->observe(current_layer_, scratch_->sets[i], m);
  }
  counters_.selection_ms += ms_since(start);
}

// Appends each request's new K/V rows to its cache at [length, length + n).
void model_runner::store_kv(int layer_index, std::span<const forward_request> requests) {
  auto& s = *scratch_;
  const size_t width = static_cast<size_t>(config_.kv_dim());
  const size_t hidden_width = static_cast<size_t>(config_.hidden_size);
  size_t row = 0;
  for (const auto& r : requests) {
    const int rows = static_cast<int>(r.tokens.size());
    if (r.tap)
      r.tap->rows(layer_index, r.length(), s.k + row * width, s.v + row * width,
                  s.h + row * hidden_width, rows);
    if (r.cache) {
      backend_.append_kv(r.cache->keys(layer_index), r.length(), s.k + row * width, rows);
      backend_.append_kv(r.cache->values(layer_index), r.length(), s.v + row * width, rows);
    } else {
      const auto start = clock_type::now();
      r.source->write(layer_index, s.k + row * width, s.v + row * width,
                      s.h + row * hidden_width, rows);
      counters_.kv_transfer_ms += ms_since(start);
    }
    row += static_cast<size_t>(rows);
  }
}

// Points a tiered request's attention item at staging rows gathered from the tiers: the
// positions the step attends (every visible one for dense steps; the union of the lists for a
// sparse one), renumbered 0..m-1 so the op sees a dense cache of m rows. Equal bit for bit to
// attending in place: the op reads the same rows in the same order.
void model_runner::gather_tiered(const layer& l, const forward_request& r, size_t index,
                                 attention_item& item) {
  const token_set& set = scratch_->sets[index];
  const int visible = r.length() + item.num_rows;
  auto& g = scratch_->gathered_for(index, static_cast<size_t>(visible), config_);
  g.positions.clear();
  if (set.dense) {
    for (int p = 0; p < visible; ++p) g.positions.push_back(p);
  } else {
    g.positions.assign(set.positions.begin(), set.positions.end());
    std::sort(g.positions.begin(), g.positions.end());
    g.positions.erase(std::unique(g.positions.begin(), g.positions.end()), g.positions.end());
  }
  const auto start = clock_type::now();
  r.source->gather(current_layer_, g.positions, g.keys, g.values, g.recompute, g.hidden);
  counters_.kv_transfer_ms += ms_since(start);
  if (!g.recompute.empty()) recompute_rows(l, g.positions, index);
  const int m = static_cast<int>(g.positions.size());
  item.keys = kv_rows{kv_dtype::f32, g.keys, nullptr, nullptr, nullptr, config_.kv_dim()};
  item.values = kv_rows{kv_dtype::f32, g.values, nullptr, nullptr, nullptr, config_.kv_dim()};
  item.past_len = m - item.num_rows;
  if (set.dense || set.num_lists == 1) {
    g.compact.set_dense();
  } else {
    g.compact = set;  // per-kv-head lists: renumber each onto the union
    for (auto& p : g.compact.positions)
      p = static_cast<int32_t>(std::lower_bound(g.positions.begin(), g.positions.end(), p) -
                               g.positions.begin());
  }
  item.tokens = &g.compact;
}

// Recomputes the K/V rows the source could not provide from their stored hidden states (the
// same row-exact projections and RoPE as when they were first computed) into the staging rows.
void model_runner::recompute_rows(const layer& l, std::span<const int32_t> positions,
                                  size_t index) {
  const auto start = clock_type::now();
  auto& g = scratch_->gather[index];
  const int m = static_cast<int>(g.recompute.size());
  backend_.linear_row_exact(g.hidden, m, l.wk, g.rk);
  backend_.linear_row_exact(g.hidden, m, l.wv, g.rv);
  if (config_.rope != model::rope_layout::none) {
    g.recompute_positions.clear();
    for (int32_t i : g.recompute) g.recompute_positions.push_back(positions[i]);
    backend_.rope(g.rk, m, config_.num_kv_heads, config_.head_dim, g.recompute_positions.data(),
                  config_.rope_theta, config_.rope);
  }
  const size_t width = static_cast<size_t>(config_.kv_dim());
  for (int j = 0; j < m; ++j) {
    const size_t dst = static_cast<size_t>(g.recompute[j]) * width;
    backend_.copy(g.keys + dst, g.rk + j * width, width * sizeof(float));
    backend_.copy(g.values + dst, g.rv + j * width, width * sizeof(float));
  }
  counters_.tokens_recomputed += m;
  counters_.recompute_ms += ms_since(start);
}

// Reads s.h, leaves the FFN output in s.tmp.
void model_runner::ffn_block(const layer& l, int n) {
  auto& s = *scratch_;
  const int64_t count = static_cast<int64_t>(n) * config_.intermediate_size;
  if (config_.activation == model::activation_kind::silu_gated) {
    backend_.linear(s.h, n, l.w_gate, s.ffn_a);
    backend_.linear(s.h, n, l.w_up, s.ffn_b);
    backend_.silu_mul(s.ffn_a, s.ffn_b, count, s.ffn_a);
  } else {
    backend_.linear(s.h, n, l.w_up, s.ffn_a);
    backend_.relu(s.ffn_a, count);
  }
  backend_.linear(s.ffn_a, n, l.w_down, s.tmp);
}

// Copies the rows that need logits into s.final_h; returns how many.
int model_runner::gather_logit_rows(std::span<const forward_request> requests, int n) {
  auto& s = *scratch_;
  const size_t width = static_cast<size_t>(config_.hidden_size);
  int row = 0, out = 0;
  for (const auto& r : requests) {
    const int rows = static_cast<int>(r.tokens.size());
    const int first = r.all_logits ? row : row + rows - 1;
    const int count = r.all_logits ? rows : 1;
    backend_.copy(s.final_h + static_cast<size_t>(out) * width,
                  s.x + static_cast<size_t>(first) * width, count * width * sizeof(float));
    out += count;
    row += rows;
  }
  (void)n;
  return out;
}

void model_runner::compute_logits(int num_rows, std::vector<float>& logits) {
  auto& s = *scratch_;
  s.ensure_logits(num_rows, config_);
  const float* h = s.final_h;
  if (final_norm_) {
    norm(s.final_h, num_rows, final_norm_, final_norm_bias_, s.h);
    h = s.h;
  }
  if (project_out_.data) {
    backend_.linear(h, num_rows, project_out_, s.tmp);
    h = s.tmp;
  }
  backend_.linear(h, num_rows, lm_head_, s.logits);
  logits.resize(static_cast<size_t>(num_rows) * config_.vocab_size);
  backend_.download(logits.data(), s.logits, logits.size() * sizeof(float));
}

}  // namespace alisa::gpu
