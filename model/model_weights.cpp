// Size accounting over distinct tensors: a tied lm_head points at the embedding and counts once.
#include "model/model_weights.hpp"

#include <set>

namespace alisa::model {
namespace {

template <typename Visit>
void for_each_tensor(const model_weights& w, Visit visit) {
  for (const tensor_view* t : {&w.token_embedding, &w.position_embedding, &w.project_in, &w.project_out,
                               &w.final_norm, &w.final_norm_bias, &w.lm_head}) {
    visit(*t);
  }
  for (const layer_weights& l : w.layers) {
    for (const tensor_view* t : {&l.attn_norm, &l.attn_norm_bias, &l.wq, &l.wk, &l.wv, &l.wo, &l.bq, &l.bk, &l.bv,
                                 &l.bo, &l.ffn_norm, &l.ffn_norm_bias, &l.w_gate, &l.w_up, &l.w_down, &l.b_up,
                                 &l.b_down}) {
      visit(*t);
    }
  }
}

template <typename Measure>
size_t sum_distinct(const model_weights& w, Measure measure) {
  std::set<const void*> seen;
  size_t total = 0;
  for_each_tensor(w, [&](const tensor_view& t) {
    if (t.present() && seen.insert(t.data).second) total += measure(t);
  });
  return total;
}

}  // namespace

size_t model_weights::num_parameters() const {
  return sum_distinct(*this, [](const tensor_view& t) { return static_cast<size_t>(t.num_elements()); });
}

size_t model_weights::num_weight_bytes() const {
  return sum_distinct(*this, [](const tensor_view& t) { return t.num_bytes(); });
}

}  // namespace alisa::model
