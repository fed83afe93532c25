#pragma once
// reference_forward — a deliberately naive, double-precision forward pass over model_weights,
// written from the model equations (HF LlamaForCausalLM / OPTForCausalLM, llama2.c), not from the
// runtime's kernels. Tests compare the real backends against it; it is slow (O(n^2 d) per call,
// no caching) and meant for tiny models and short sequences only.
//
// Llama family: x = emb[t]; per layer h = rmsnorm(x)*g; q,k,v (+biases); RoPE on q and k;
// causal softmax(q.k/sqrt(d)) with query head h reading kv head h/(heads/kv_heads); x += o(att);
// h = rmsnorm(x)*g; x += down(silu(gate h) * up h); final rmsnorm; logits = lm_head.x.
// OPT: x = emb[t] [project_in]; x += pos_emb[pos + 2]; pre-LN blocks (LN then sublayer then
// residual) or post-LN (residual then LN); ReLU FFN with biases; final LN when present; project_out;
// logits = lm_head.x.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "model/model_weights.hpp"

namespace alisa::testing {

namespace reference_detail {

using vec = std::vector<double>;
using model::tensor_view;

inline double at(const tensor_view& t, int64_t i) { return static_cast<double>(model::element_as_float(t, i)); }

// y = W x (+ b); W is [out, in] row-major.
inline vec linear(const tensor_view& w, const vec& x, const tensor_view& b = {}) {
  const int64_t out = w.shape[0], in = w.shape[1];
  vec y(static_cast<size_t>(out), 0.0);
  for (int64_t r = 0; r < out; ++r) {
    double s = b.present() ? at(b, r) : 0.0;
    for (int64_t c = 0; c < in; ++c) s += at(w, r * in + c) * x[static_cast<size_t>(c)];
    y[static_cast<size_t>(r)] = s;
  }
  return y;
}

inline vec norm(const model::model_config& c, const vec& x, const tensor_view& g, const tensor_view& b) {
  const double n = static_cast<double>(x.size());
  vec y(x.size());
  if (c.norm == model::norm_kind::rms_norm) {
    double ss = 0;
    for (double v : x) ss += v * v;
    const double inv = 1.0 / std::sqrt(ss / n + c.norm_eps);
    for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * inv * at(g, static_cast<int64_t>(i));
    return y;
  }
  double mean = 0, var = 0;
  for (double v : x) mean += v;
  mean /= n;
  for (double v : x) var += (v - mean) * (v - mean);
  var /= n;  // biased variance, as torch.nn.LayerNorm
  const double inv = 1.0 / std::sqrt(var + c.norm_eps);
  for (size_t i = 0; i < x.size(); ++i) {
    y[i] = (x[i] - mean) * inv * at(g, static_cast<int64_t>(i)) + (b.present() ? at(b, static_cast<int64_t>(i)) : 0.0);
  }
  return y;
}

// Rotates every head of `v` in place by position `pos`.
inline void rope(const model::model_config& c, vec& v, int heads, int pos) {
  if (c.rope == model::rope_layout::none) return;
  const int d = c.head_dim;
  for (int h = 0; h < heads; ++h) {
    double* head = v.data() + static_cast<size_t>(h) * static_cast<size_t>(d);
    for (int i = 0; i < d / 2; ++i) {
      const double angle = pos * std::pow(static_cast<double>(c.rope_theta), -2.0 * i / d);
      const int a = c.rope == model::rope_layout::rotate_half ? i : 2 * i;
      const int b = c.rope == model::rope_layout::rotate_half ? i + d / 2 : 2 * i + 1;
      const double x0 = head[a], x1 = head[b];
      head[a] = x0 * std::cos(angle) - x1 * std::sin(angle);
      head[b] = x0 * std::sin(angle) + x1 * std::cos(angle);
    }
  }
}

inline void add_into(vec& x, const vec& y) {
  for (size_t i = 0; i < x.size(); ++i) x[i] += y[i];
}

// Causal attention of position `pos` over keys/values 0..pos; returns the concatenated heads.
inline vec attention(const model::model_config& c, const vec& q, const std::vector<vec>& keys,
                     const std::vector<vec>& values, int pos) {
  const int d = c.head_dim, group = c.num_heads / c.num_kv_heads;
  vec out(static_cast<size_t>(c.q_dim()), 0.0);
  for (int h = 0; h < c.num_heads; ++h) {
    const size_t qo = static_cast<size_t>(h * d), ko = static_cast<size_t>((h / group) * d);
    vec scores(static_cast<size_t>(pos + 1));
    double max_score = -1e300;
    for (int t = 0; t <= pos; ++t) {
      double s = 0;
      for (int i = 0; i < d; ++i) s += q[qo + static_cast<size_t>(i)] * keys[static_cast<size_t>(t)][ko + static_cast<size_t>(i)];
      scores[static_cast<size_t>(t)] = s / std::sqrt(static_cast<double>(d));
      max_score = std::max(max_score, scores[static_cast<size_t>(t)]);
    }
    double total = 0;
    for (double& s : scores) total += (s = std::exp(s - max_score));
    for (int t = 0; t <= pos; ++t) {
      const double p = scores[static_cast<size_t>(t)] / total;
      for (int i = 0; i < d; ++i) out[qo + static_cast<size_t>(i)] += p * values[static_cast<size_t>(t)][ko + static_cast<size_t>(i)];
    }
  }
  return out;
}

inline vec feed_forward(const model::model_config& c, const model::layer_weights& l, const vec& h) {
  if (c.activation == model::activation_kind::silu_gated) {
    vec gate = linear(l.w_gate, h), up = linear(l.w_up, h, l.b_up);
    for (size_t i = 0; i < gate.size(); ++i) gate[i] = gate[i] / (1.0 + std::exp(-gate[i])) * up[i];
    return linear(l.w_down, gate, l.b_down);
  }
  vec up = linear(l.w_up, h, l.b_up);
  for (double& v : up) v = v > 0 ? v : 0.0;
  return linear(l.w_down, up, l.b_down);
}

}  // namespace reference_detail

// Logits (vocab_size doubles) at every position of `tokens`, processed as one causal sequence.
inline std::vector<std::vector<double>> reference_forward(const model::model_weights& w, const std::vector<int>& tokens) {
  using namespace reference_detail;
  const model::model_config& c = w.config;
  const int64_t embed = w.token_embedding.shape[1];
  std::vector<std::vector<vec>> keys(w.layers.size()), values(w.layers.size());
  std::vector<vec> logits;
  for (int pos = 0; pos < static_cast<int>(tokens.size()); ++pos) {
    vec x(static_cast<size_t>(embed));
    for (int64_t i = 0; i < embed; ++i) x[static_cast<size_t>(i)] = at(w.token_embedding, tokens[static_cast<size_t>(pos)] * embed + i);
    if (w.project_in.present()) x = linear(w.project_in, x);
    if (w.position_embedding.present()) {
      const int64_t row = pos + c.position_offset;
      for (int64_t i = 0; i < c.hidden_size; ++i) x[static_cast<size_t>(i)] += at(w.position_embedding, row * c.hidden_size + i);
    }
    for (size_t li = 0; li < w.layers.size(); ++li) {
      const model::layer_weights& l = w.layers[li];
      // Attention block.
      vec h = c.do_layer_norm_before ? norm(c, x, l.attn_norm, l.attn_norm_bias) : x;
      vec q = linear(l.wq, h, l.bq), k = linear(l.wk, h, l.bk), v = linear(l.wv, h, l.bv);
      rope(c, q, c.num_heads, pos);
      rope(c, k, c.num_kv_heads, pos);
      keys[li].push_back(k);
      values[li].push_back(v);
      add_into(x, linear(l.wo, attention(c, q, keys[li], values[li], pos), l.bo));
      if (!c.do_layer_norm_before) x = norm(c, x, l.attn_norm, l.attn_norm_bias);
      // Feed-forward block.
      h = c.do_layer_norm_before ? norm(c, x, l.ffn_norm, l.ffn_norm_bias) : x;
      add_into(x, feed_forward(c, l, h));
      if (!c.do_layer_norm_before) x = norm(c, x, l.ffn_norm, l.ffn_norm_bias);
    }
    if (w.final_norm.present()) x = norm(c, x, w.final_norm, w.final_norm_bias);
    if (w.project_out.present()) x = linear(w.project_out, x);
    logits.push_back(linear(w.lm_head, x));
  }
  return logits;
}

}  // namespace alisa::testing
