#pragma once
// model_runner — the forward pass of a decoder-only transformer (Llama family, OPT) over the
// backend interface. It copies the weights into backend memory once (in the requested storage
// dtype) and then runs batched forward steps: every request appends its tokens to its own KV
// cache, and all requests' rows go through each linear layer together, so the weights are
// streamed once per step for the whole batch (what makes batched decode cheap).
//
// Thread affinity: one thread drives a runner at a time (the backend parallelises inside).
// The runner keeps a reference to the backend; it does not keep the host model_weights.
#include <memory>
#include <span>
#include <vector>

#include "gpu/attention_selection.hpp"
#include "gpu/backend.hpp"
#include "gpu/kv_cache.hpp"
#include "gpu/kv_source.hpp"
#include "gpu/kv_tap.hpp"
#include "model/model_weights.hpp"

namespace alisa::gpu {

struct runner_options {
  dtype weight_type = dtype::f32;  // storage dtype of the matrices; compute is fp32
  kv_dtype kv_type = kv_dtype::f32;  // storage dtype of the caches make_cache() creates
  // With weight_type q8_0: only the matrices the file stores as q8_0 are kept so; the others
  // (a GGUF's F32 or F16 ones) are stored as fp32 rather than quantised (--dtype auto).
  bool quantise_only_quantised = false;
};

// What attention did, accumulated over forward() calls until reset_counters(). "Decode" rows are
// those of single-row requests (decode steps, teacher-forced evaluation).
struct attention_counters {
  int64_t num_decode_rows = 0;         // single-row requests run
  int64_t num_decode_row_layers = 0;   // (single-row request, layer) pairs
  int64_t tokens_attended = 0;         // over those pairs: tokens one query head read
  int64_t kv_bytes_read = 0;           // over those pairs: K+V bytes read (gpu/kv_traffic.hpp)
  // Wall time in backend attention calls (every step); synchronous backends only (0 on CUDA,
  // whose ops are queued: kv_transfer_ms and recompute_ms there count host work and queueing).
  double attention_ms = 0.0;
  double selection_ms = 0.0;           // wall time in select()/observe() and mass downloads
  // Tiered requests (kv_source) only, every step: gathering K/V rows out of the tiers (and
  // writing new rows into them), and recomputing dropped rows from hidden states.
  double kv_transfer_ms = 0.0;
  double recompute_ms = 0.0;
  int64_t tokens_recomputed = 0;       // (token, layer) K/V rows recomputed
  double mean_tokens_attended() const {
    return num_decode_row_layers ? double(tokens_attended) / double(num_decode_row_layers) : 0.0;
  }
};

// One sequence's share of a forward step. Its KV is either a dense_kv_cache (every position in
// one device buffer) or a kv_source (the tiered store); exactly one of the two is set.
struct forward_request {
  dense_kv_cache* cache = nullptr;    // receives the new tokens' K/V at [length, length+n)
  std::span<const int32_t> tokens;    // the tokens to append (prompt chunk or one decoded token)
  bool all_logits = false;            // logits for every row (evaluation) or only the last row
  // Restricts attention (single-row requests) and receives the attention mass; nullptr = dense.
  attention_selection* selection = nullptr;
  kv_source* source = nullptr;        // instead of cache: K/V written to and gathered from tiers
  kv_tap* tap = nullptr;              // optional: sees the K/V rows this request writes
  int length() const { return cache ? cache->length() : source->length(); }
  int capacity() const { return cache ? cache->capacity() : source->capacity(); }
};

class model_runner {
 public:
  model_runner(backend& be, const model::model_weights& weights, const runner_options& options);
  ~model_runner();
  model_runner(const model_runner&) = delete;
  model_runner& operator=(const model_runner&) = delete;

  const model::model_config& config() const { return config_; }
  backend& get_backend() { return backend_; }
  dtype weight_type() const { return weight_type_; }

  // A KV cache for one sequence in options.kv_type; capacity 0 = the model's context length.
  std::unique_ptr<dense_kv_cache> make_cache(int capacity = 0);
  kv_dtype kv_type() const { return kv_type_; }

  // Runs one step. Writes logits to `logits` as consecutive rows of vocab_size floats, in request
  // order: every row of a request with all_logits, otherwise its last row only.
  // Throws std::invalid_argument if a request has no tokens, a token id outside the vocabulary,
  // would overflow its cache, or shares its cache with another request of the step.
  void forward(std::span<const forward_request> requests, std::vector<float>& logits);

  // Bytes of weights one forward step reads (every matrix once, embeddings excluded).
  size_t weight_bytes_per_step() const { return weight_bytes_per_step_; }

  const attention_counters& counters() const { return counters_; }
  void reset_counters() { counters_ = {}; }

 private:
  struct layer;
  struct scratch;
  void upload_weights(const model::model_weights& w);
  void validate(std::span<const forward_request> requests) const;
  void embed_tokens(int n);
  void run_layer(const layer& l, std::span<const forward_request> requests, int n);
  void attention_block(const layer& l, std::span<const forward_request> requests, int n);
  void ffn_block(const layer& l, int n);
  void store_kv(int layer_index, std::span<const forward_request> requests);
  void gather_tiered(const layer& l, const forward_request& r, size_t index, attention_item& item);
  void recompute_rows(const layer& l, std::span<const int32_t> positions, size_t index);
  std::vector<attention_item> attention_items(std::span<const forward_request> requests);
  void select_tokens(const forward_request& r, size_t index);
  void count_decode_row(const attention_item& item);
  void request_mass(const forward_request& r, size_t index, attention_item& item);
  void report_mass(std::span<const forward_request> requests,
                   std::span<const attention_item> items);
  void norm(const float* x, int n, const float* gain, const float* bias, float* y);
  int gather_logit_rows(std::span<const forward_request> requests, int n);
  void compute_logits(int num_rows, std::vector<float>& logits);

  backend& backend_;
  model::model_config config_;
  dtype weight_type_;
  bool quantise_only_quantised_;
  kv_dtype kv_type_;
  attention_counters counters_;
  std::vector<layer> layers_;
  weight_matrix token_embedding_, position_embedding_, project_in_, project_out_, lm_head_;
  const float* final_norm_ = nullptr;
  const float* final_norm_bias_ = nullptr;
  size_t weight_bytes_per_step_ = 0;
  std::unique_ptr<scratch> scratch_;
  std::vector<int32_t> host_tokens_, host_positions_;
  int current_layer_ = 0;
};

}  // namespace alisa::gpu
