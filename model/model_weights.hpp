#pragma once
// model_weights — a loaded model in one canonical layout, whatever file it came from.
// Linear weights are [out_features, in_features] (torch.nn.Linear). Absent optional tensors have
// data == nullptr. The struct owns the memory its views point into (mmaps or buffers), so it must
// outlive every backend copy made from it; it is movable, not copyable.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/model_config.hpp"
#include "model/tensor.hpp"

namespace alisa::model {

struct layer_weights {
  tensor_view attn_norm, attn_norm_bias;  // bias: LayerNorm only
  tensor_view wq, wk, wv, wo;             // [q_dim,hidden] [kv_dim,hidden] [kv_dim,hidden] [hidden,q_dim]
  tensor_view bq, bk, bv, bo;             // attention biases (OPT)
  tensor_view ffn_norm, ffn_norm_bias;
  tensor_view w_gate;  // [ffn, hidden] SwiGLU only
  tensor_view w_up;    // [ffn, hidden] (OPT fc1)
  tensor_view w_down;  // [hidden, ffn] (OPT fc2)
  tensor_view b_up, b_down;  // FFN biases (OPT)
};

struct model_weights {
  model_config config;
  tensor_view token_embedding;     // [vocab, embed_dim]
  tensor_view position_embedding;  // OPT: [max_positions + offset, hidden]
  tensor_view project_in;          // OPT: [hidden, embed_dim] when word_embed_proj_dim differs
  tensor_view project_out;         // OPT: [embed_dim, hidden]
  tensor_view final_norm, final_norm_bias;
  tensor_view lm_head;  // [vocab, embed_dim]; equals token_embedding when tied
  std::vector<layer_weights> layers;

  bool synthetic = false;  // deterministic seeded weights, not a trained model
  std::string source;      // path or "synthetic:NAME", for logs and --json
  std::vector<std::shared_ptr<const void>> storage;  // keeps mmaps/buffers alive

  size_t num_parameters() const;
  size_t num_weight_bytes() const;  // bytes of every distinct tensor as stored
};

// Calls visit(name, tensor) for every tensor slot, present or not, named by its place in this
// layout ("token_embedding", "layers.3.wq", ...). A tied lm_head is visited under both names.
void for_each_named_tensor(const model_weights& w,
                           const std::function<void(const std::string& name, const tensor_view&)>& visit);

}  // namespace alisa::model
