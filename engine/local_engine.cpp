#include "engine/local_engine.hpp"

#include <cstdio>
#include <iostream>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "engine/model_card.hpp"
#include "engine/policy_selection.hpp"
#include "engine/prefix_disk_level.hpp"
#include "engine/step_loop.hpp"
#include "engine/tiered_sequence.hpp"
#include "model/load_model.hpp"
#include "model/weights_fingerprint.hpp"

namespace alisa::engine {
namespace {

// 260032 -> "260K", 6738415616 -> "6.74B": three significant digits for logs.
std::string human_count(size_t n) {
  const char* units[] = {"", "K", "M", "B"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1000.0 && u < 3) {
    v /= 1000.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, v >= 100 ? "%.0f%s" : v >= 10 ? "%.1f%s" : "%.2f%s", v, units[u]);
  return buf;
}

// The share of a sequence's older tokens a decode step is expected to attend: what the cost
// model multiplies fetch costs by.
double attended_fraction(const scheduler::selection_options& a) {
  if (a.policy == scheduler::attention_policy::dense) return 1.0;
  return 1.0 - a.sparsity;
}

// What prefix-cache rows depend on: the weights (their fingerprint) and how they and the KV are
// stored, and the shapes. It seeds every block key, and a persistent NVMe level's manifest.
std::string prefix_identity(const engine_options& o, const model::model_config& c,
                            const std::string& fingerprint) {
  return absl::StrCat("weights ", fingerprint, " dtype ", std::string(to_string(o.weight_type)),
                      " kv ", std::string(to_string(o.kv_type)), " layers ", c.num_layers, " kv_dim ",
                      c.kv_dim(), " hidden ", c.hidden_size, " vocab ", c.vocab_size);
}

absl::StatusOr<std::unique_ptr<prefix_cache>> open_prefix_cache(const engine_options& options,
                                                                const model::model_config& c,
                                                                const std::string& fingerprint,
                                                                size_t num_parameters, bool tiered) {
  if (options.kv_type == kv_dtype::i8)
    return absl::InvalidArgumentError(
        "the prefix cache needs --kv-dtype fp32, fp16 or bf16: int8 rows depend on how a "
        "prompt was chunked, so a reused prefix could change the output");
  const std::string identity = prefix_identity(options, c, fingerprint);
  prefix_cache_shape shape{c.num_layers, c.kv_dim(), c.hidden_size, tiered};
  // Eviction weighs what recomputing a block costs: the weights' matmuls per token, and the
  // attention scores and weighted sums per earlier key (QK and AV, 2 FLOPs each per q_dim).
  shape.linear_flops_per_token = 2.0 * static_cast<double>(num_parameters);
  shape.attention_flops_per_key = 4.0 * c.num_layers * c.q_dim();
  auto cache = std::make_unique<prefix_cache>(options.prefix_cache_budget, shape, identity);
  if (!options.prefix_cache_dir.empty()) {
    auto disk = open_prefix_disk_level(
        {options.prefix_cache_dir, options.prefix_cache_disk_budget, options.kv_cache_persist},
        identity);
    if (!disk.ok()) return disk.status();
    if (!disk->note.empty())
      std::cerr << "alisa: prefix cache " << options.prefix_cache_dir << ": " << disk->note << "\n";
    cache->add_level(std::move(disk->level));
  }
  return cache;
}

}  // namespace

std::string attention_summary(const engine_options& o) {
  std::string s(scheduler::to_string(o.attention.policy));
  if (o.attention.policy != scheduler::attention_policy::dense) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " S=%.2f", o.attention.sparsity);
    s += buf;
  }
  return absl::StrCat(s, ", kv ", std::string(to_string(o.kv_type)));
}

absl::StatusOr<std::unique_ptr<local_engine>> local_engine::open(const engine_options& requested) {
  std::unique_ptr<local_engine> engine(new local_engine());
  engine_options options = requested;  // weight_type is settled once the model is loaded
  model::load_options load;
  load.max_position_embeddings = options.context_length;
  load.synthetic_dtype = options.weight_type;  // generate big presets directly in the target dtype
  load.check_weights = options.check_weights;
  if (auto bad = options.attention.validate()) return absl::InvalidArgumentError(*bad);
  if (auto bad = options.tiers.validate()) return absl::InvalidArgumentError(*bad);
  if (options.tiers.policy != scheduler::kv_policy::alisa &&
      options.attention.policy != scheduler::attention_policy::dense)
    return absl::InvalidArgumentError(absl::StrCat(
        "--policy ", std::string(scheduler::to_string(options.tiers.policy)),
        " re-implements a dense-attention system: use --attention dense (or --policy alisa)"));
  auto weights = model::load_model(options.model, load);
  if (!weights.ok()) return weights.status();
  options.weight_type = settled_weight_type(options, *weights);
  engine->options_ = options;
  engine->config_ = weights->config;
  engine->source_ = weights->source;
  engine->synthetic_ = weights->synthetic;
  engine->num_parameters_ = weights->num_parameters();
  // Before the backend takes the weights (it may release the host copy).
  const std::string fingerprint = options.prefix_cache_on() ? model::weights_fingerprint(*weights) : "";
  auto tok = open_engine_tokenizer(options, engine->config_);
  if (!tok.ok()) return tok.status();
  engine->tokenizer_ = std::move(*tok);
  try {
    if (options.backend == gpu::backend_kind::automatic)
      engine->backend_ = gpu::make_auto_backend(options.num_threads, engine->backend_choice_);
    else
      engine->backend_ = gpu::make_backend(options.backend, options.num_threads);
    // --dtype auto on a backend without q8_0 kernels: the blocks are dequantised to fp16 instead.
    if (options.weight_type_from_model && !engine->backend_->stores_weights_as(options.weight_type)) {
      options.weight_type = dtype::f16;
      engine->options_ = options;
    }
    engine->runner_ = std::make_unique<gpu::model_runner>(*engine->backend_, *weights,
                                                          gpu::runner_options{options.weight_type, options.kv_type,
                                                                              options.weight_type_from_model});
  } catch (const std::exception& e) {
    return absl::InternalError(e.what());
  }
  if (options.tiers.tiered()) {
    auto store = tiered_kv_store::open(*engine->backend_, engine->config_, options.kv_type,
                                       options.weight_type, options.tiers,
                                       attended_fraction(options.attention));
    if (!store.ok()) return store.status();
    engine->tiers_ = std::move(*store);
  }
  if (options.prefix_cache_on()) {
    if (auto opened = open_prefix_cache(options, engine->config_, fingerprint, engine->num_parameters_,
                                        engine->tiers_ != nullptr);
        opened.ok())
      engine->prefixes_ = std::move(*opened);
    else
      return opened.status();
  }
  return engine;
}

std::unique_ptr<tiered_sequence> local_engine::make_tiered_sequence(int final_length,
                                                                   int capacity) {
  return tiers_->make_sequence(capacity > 0 ? capacity : config_.max_position_embeddings,
                               final_length);
}

std::string local_engine::describe() const {
  const auto& c = config_;
  return absl::StrCat(source_, synthetic_ ? " (SYNTHETIC random weights)" : "",
                      ": ", model::to_string(c.arch), ", ", c.num_layers, " layers, hidden ",
                      c.hidden_size, ", ", human_count(num_parameters_), " params, weights ",
                      std::string(to_string(options_.weight_type)), ", context ", c.max_position_embeddings,
                      "; attention ", attention_summary(options_),
                      "; tokenizer ", tokenizer_->name(), "; backend ", backend_->name());
}

absl::StatusOr<std::vector<int>> local_engine::encode_prompt(const std::string& text) const {
  std::vector<int> ids = tokenizer_->encode(text, /*add_bos=*/true);
  if (ids.empty()) ids.push_back(config().bos_token_id);  // a tokenizer without BOS, empty prompt
  const int context = config().max_position_embeddings;
  if (static_cast<int>(ids.size()) >= context)
    return absl::InvalidArgumentError(absl::StrCat("prompt is ", ids.size(),
                                                   " tokens but the model's context is ", context,
                                                   " (at most ", context - 1, " prompt tokens)"));
  return ids;
}

std::unique_ptr<gpu::attention_selection> local_engine::make_selection() const {
  return make_policy_selection(options_.attention, config_.num_layers, config_.num_kv_heads);
}

namespace {

std::optional<finish_reason> parse_finish_reason(std::string_view name) {
  for (auto r : {finish_reason::eos, finish_reason::length, finish_reason::stop_string,
                 finish_reason::context_full})
    if (to_string(r) == name) return r;
  return std::nullopt;
}

// A finished job's figures, as generation_result carries them.
void copy_figures(const job_finished& f, generation_result& r) {
  r.reason = parse_finish_reason(f.finish_reason).value_or(finish_reason::length);
  r.prefill_ms = f.prefill_ms;
  r.decode_ms = f.decode_ms;
  r.num_decode_steps = f.num_decode_steps;
  r.kv_tokens_attended_per_step = f.kv_tokens_attended_per_step;
  r.kv_bytes_read_per_step = f.kv_bytes_read_per_step;
  r.attention_ms = f.attention_ms;
  r.selection_ms = f.selection_ms;
  r.kv_transfer_ms = f.kv_transfer_ms;
  r.recompute_ms = f.recompute_ms;
  r.tokens_recomputed = f.tokens_recomputed;
}

}  // namespace

generation_result local_engine::generate(const std::vector<int>& prompt_ids,
                                         const sampling_params& params,
                                         const gpu::text_callback& on_text) {
  step_loop loop(*this);
  submit_job job;
  job.id = request_id{1};
  job.prompt_ids.assign(prompt_ids.begin(), prompt_ids.end());
  job.sampling = params;
  if (auto bad = loop.add(job)) throw std::invalid_argument(*bad);
  generation_result result;
  result.prompt_ids = prompt_ids;
  while (!loop.empty()) {
    const step_report report = loop.step();
    for (const auto& c : report.chunks) {
      result.token_ids.insert(result.token_ids.end(), c.token_ids.begin(), c.token_ids.end());
      result.text += c.text;
      if (on_text && !c.text.empty()) on_text(c.text);
    }
    for (const auto* ended : {&report.failed, &report.lost})
      if (!ended->empty()) throw std::runtime_error(ended->front().reason);
    for (const auto& f : report.finished) copy_figures(f, result);
  }
  return result;
}

// A model whose matrices are q8_0 runs those as stored and its other matrices in fp32
// (runner_options::quantise_only_quantised); every other model computes from fp32 copies, as
// before auto existed.
dtype settled_weight_type(const engine_options& options, const model::model_weights& weights) {
  if (!options.weight_type_from_model) return options.weight_type;
  const bool quantised = !weights.layers.empty() && weights.layers.front().wq.type == dtype::q8_0;
  return quantised ? dtype::q8_0 : dtype::f32;
}

}  // namespace alisa::engine
