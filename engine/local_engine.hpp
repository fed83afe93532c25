#pragma once
// local_engine — one model, its tokenizer and a backend, wired together in this process, with the
// tiered KV store when a device budget is given. The gpu_worker actor owns one (so `alisa run`,
// `submit` and a cluster's workers drive it), as do `alisa bench` and `alisa eval`; all of them
// run it through the one step loop (engine/step_loop.hpp).
// Plain C++ (no CAF): every fault in opening is an absl::Status whose message a user can act on.
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/generation.hpp"
#include "model/load_model.hpp"
#include "engine/prefix_cache.hpp"
#include "engine/tier_options.hpp"
#include "engine/tiered_kv_store.hpp"
#include "gpu/backend.hpp"
#include "gpu/model_runner.hpp"
#include "gpu/text_stream.hpp"
#include "model/model_weights.hpp"
#include "model/tokenizer.hpp"
#include "scheduler/token_selector.hpp"

namespace alisa::engine {

struct engine_options {
  std::string model = "stories260K";  // --model: stories260K (built in), HF dir, llama2.c .bin, synthetic:NAME
  std::string tokenizer;                 // --tokenizer: overrides auto-detection when set
  dtype weight_type = dtype::f32;        // --dtype: storage dtype of the weights
  // --dtype auto: weight_type becomes q8_0 when the model's matrices are stored as Q8_0 (a GGUF
  // file), fp32 otherwise; engine::options() reports the settled type.
  bool weight_type_from_model = false;
  // --check-weights: refuse NaN/inf weights at load (model/weight_check.hpp).
  model::load_options::weight_check check_weights = model::load_options::weight_check::automatic;
  int num_threads = 0;                   // --threads: 0 = every hardware thread
  gpu::backend_kind backend = gpu::backend_kind::cpu;
  int context_length = 0;                // --context: > 0 overrides a synthetic preset's context
  kv_dtype kv_type = kv_dtype::f32;      // --kv-dtype: how KV rows are stored
  scheduler::selection_options attention;  // --attention, --kv-sparsity, --swa-window, ...
  tier_options tiers;                    // --policy, --device-kv-budget, --host-kv-budget, ...
  // --max-prefill-tokens: prompt rows all prefilling jobs feed in one step together (0 = every
  // prompt whole in one step). Bounds the activations a long prompt needs, and how long the
  // decoding jobs beside it wait for one step.
  int max_prefill_tokens = 2048;
  // --prefix-cache-budget: host RAM for the K/V of prompt prefixes kept after their jobs end, so a
  // job starting with a cached prefix skips that prefill (engine/prefix_cache.hpp). 0 = none.
  size_t prefix_cache_budget = 0;
  // --prefix-cache-dir, --prefix-cache-disk-budget: the prefix cache's NVMe level
  // (engine/prefix_disk_level.hpp); --kv-cache-persist keeps it across restarts.
  std::string prefix_cache_dir;
  uint64_t prefix_cache_disk_budget = 0;
  bool kv_cache_persist = false;

  // Whether any prefix cache tier is configured.
  bool prefix_cache_on() const { return prefix_cache_budget > 0 || !prefix_cache_dir.empty(); }
};

// "swa S=0.80, kv int8": the attention policy and KV dtype, for logs and reports.
std::string attention_summary(const engine_options& options);

// The weight storage type `options` asks for once the weights are known: --dtype auto gives
// q8_0 when the model's matrices are stored as q8_0 (a Q8_0 or Q4_0 GGUF), else fp32; an
// explicit --dtype is itself. (local_engine::open may still fall back to fp16 on a backend
// without q8_0 kernels; its options() report what it settled on.)
dtype settled_weight_type(const engine_options& options, const model::model_weights& weights);

class local_engine {
 public:
  static absl::StatusOr<std::unique_ptr<local_engine>> open(const engine_options& options);

  const model::model_config& config() const { return config_; }
  const model::tokenizer& tokenizer() const { return *tokenizer_; }
  gpu::model_runner& runner() { return *runner_; }
  gpu::backend& backend() { return *backend_; }
  const engine_options& options() const { return options_; }
  bool synthetic() const { return synthetic_; }
  // One line for logs: model source, architecture, parameters, dtype, backend, tokenizer.
  std::string describe() const;
  // With --backend auto: what was chosen and why (e.g. the CUDA driver's message); else empty.
  const std::string& backend_choice() const { return backend_choice_; }

  // Tokenizes a prompt with BOS. Errors when it does not leave room for one generated token.
  absl::StatusOr<std::vector<int>> encode_prompt(const std::string& text) const;

  // A fresh per-sequence selection for options().attention; nullptr when the policy is dense.
  std::unique_ptr<gpu::attention_selection> make_selection() const;

  // One job alone through the step loop until it ends (blocking): its tokens, text and decode
  // figures. on_text receives the text as it streams. Throws std::invalid_argument for a job the
  // loop refuses (empty or too long prompt, bad sampling values) and std::runtime_error when it
  // fails or is lost mid-run.
  generation_result generate(const std::vector<int>& prompt_ids, const sampling_params& params,
                             const gpu::text_callback& on_text = {});

  // The tiered KV store when options().tiers.tiered(), else nullptr (dense per-sequence caches).
  tiered_kv_store* tier_store() { return tiers_.get(); }
  const tiered_kv_store* tier_store() const { return tiers_.get(); }
  // A sequence's KV holder in the tiered store, of at most `capacity` positions (0 = the model's
  // context) and expected to reach final_length (precondition: tier_store() != nullptr).
  std::unique_ptr<tiered_sequence> make_tiered_sequence(int final_length, int capacity = 0);
  // The prefix cache when options().prefix_cache_on(), else nullptr.
  prefix_cache* prefixes() { return prefixes_.get(); }

 private:
  local_engine() = default;
  engine_options options_;
  // The host copy of the weights is dropped once the backend holds its own (packed) copy: for a
  // synthetic model it is anonymous memory as large as the model. What remains is their summary.
  model::model_config config_;
  std::string source_;
  bool synthetic_ = false;
  size_t num_parameters_ = 0;
  std::unique_ptr<model::tokenizer> tokenizer_;
  std::unique_ptr<gpu::backend> backend_;
  std::string backend_choice_;  // --backend auto: what was chosen and why (empty otherwise)
  std::unique_ptr<gpu::model_runner> runner_;
  std::unique_ptr<prefix_cache> prefixes_;
  std::unique_ptr<tiered_kv_store> tiers_;  // declared last: released before the backend
};

}  // namespace alisa::engine
