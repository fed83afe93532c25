// Size accounting over distinct tensors: a tied lm_head points at the embedding and counts once.
#include "model/model_weights.hpp"

#include <set>

namespace alisa::model {
namespace {

template <typename Measure>
size_t sum_distinct(const model_weights& w, Measure measure) {
  std::set<const void*> seen;
  size_t total = 0;
  for_each_named_tensor(w, [&](const std::string&, const tensor_view& t) {
    if (t.present() && seen.insert(t.data).second) total += measure(t);
  });
  return total;
}

}  // namespace

void for_each_named_tensor(const model_weights& w,
                           const std::function<void(const std::string& name, const tensor_view&)>& visit) {
  visit("token_embedding", w.token_embedding);
  visit("position_embedding", w.position_embedding);
  visit("project_in", w.project_in);
  visit("project_out", w.project_out);
  visit("final_norm", w.final_norm);
  visit("final_norm_bias", w.final_norm_bias);
  visit("lm_head", w.lm_head);
  for (size_t i = 0; i < w.layers.size(); ++i) {
    const layer_weights& l = w.layers[i];
    const std::string at = "layers." + std::to_string(i) + ".";
    for (const auto& [name, t] : {std::pair{"attn_norm", &l.attn_norm}, {"attn_norm_bias", &l.attn_norm_bias},
                                  {"wq", &l.wq}, {"wk", &l.wk}, {"wv", &l.wv}, {"wo", &l.wo},
                                  {"bq", &l.bq}, {"bk", &l.bk}, {"bv", &l.bv}, {"bo", &l.bo},
                                  {"ffn_norm", &l.ffn_norm}, {"ffn_norm_bias", &l.ffn_norm_bias},
                                  {"w_gate", &l.w_gate}, {"w_up", &l.w_up}, {"w_down", &l.w_down},
                                  {"b_up", &l.b_up}, {"b_down", &l.b_down}})
      visit(at + name, *t);
  }
}

size_t model_weights::num_parameters() const {
  return sum_distinct(*this, [](const tensor_view& t) { return static_cast<size_t>(t.num_elements()); });
}

size_t model_weights::num_weight_bytes() const {
  return sum_distinct(*this, [](const tensor_view& t) { return t.num_bytes(); });
}

}  // namespace alisa::model
