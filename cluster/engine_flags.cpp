#include "cluster/engine_flags.hpp"

#include <algorithm>
#include <stdexcept>
#include <thread>

#include "proto/byte_size.hpp"

namespace alisa::cluster {

void add_engine_flags(CLI::App& app, engine_flags& flags) {
  auto& o = flags.options;
  app.add_option("--model,-m", o.model,
                 "model: stories260K (built in: a real 260K-parameter TinyStories model), a "
                 "Hugging Face directory (config.json + *.safetensors), a llama2.c .bin "
                 "file, a Llama .gguf file, or synthetic:NAME (tiny, tiny-opt, stories15m, stories110m, smollm2-135m, "
                 "opt-125m, llama-2-7b, opt-6.7b)")
      ->capture_default_str();
  app.add_option("--tokenizer", o.tokenizer,
                 "tokenizer file (tokenizer.json, SentencePiece .model, llama2.c tokenizer.bin, a .gguf); "
                 "default: found next to the model");
  app.add_option("--dtype", flags.dtype_name,
                 "storage dtype of the weights: auto (q8_0 for a Q8_0 GGUF, run as stored; fp32 "
                 "otherwise), fp32, bf16, fp16, or q8_0 (8-bit blocks quantised at load, CPU backend)")
      ->capture_default_str();
  app.add_option("--check-weights", flags.check_weights,
                 "refuse weights holding NaN or inf, naming the tensor: on, off, or auto (on for "
                 "model files under 2 GiB; one pass over the weights at load)")
      ->capture_default_str();
  app.add_option("--threads", o.num_threads, "CPU threads (0 = all hardware threads; at most 4 per hardware thread)")
      ->capture_default_str();
  app.add_option("--backend", flags.backend_name,
                 "compute backend: cpu, cuda (an NVIDIA GPU, sm_80+), or auto (CUDA when this "
                 "binary has it and a device is usable, else CPU; the choice is logged)")
      ->capture_default_str();
  app.add_option("--context", o.context_length,
                 "context length of a synthetic model (0 = the preset's own)")
      ->capture_default_str();
  app.add_option("--max-prefill-tokens", o.max_prefill_tokens,
                 "prompt tokens all prefilling jobs feed in one step together, each weighted by "
                 "the keys it attends to (deep in a long prompt a row counts for several): a "
                 "longer prompt is prefilled over several steps while other jobs keep decoding "
                 "(0 = every prompt whole in one step)")
      ->capture_default_str();
  app.add_option("--prefix-cache-budget", flags.prefix_cache_budget,
                 "host RAM for the K/V of prompt prefixes kept after their jobs end, e.g. 1GiB: a "
                 "job whose prompt starts with a cached prefix (another question about the same "
                 "document) prefills only the rest, with the same output (unset: off)");
  app.add_option("--prefix-cache-dir", o.prefix_cache_dir,
                 "directory of the prefix cache's NVMe level (RocksDB), below --prefix-cache-budget: "
                 "every cached prefix block is written through to it; new, empty, or one alisa "
                 "made; wiped at start and removed at exit unless --kv-cache-persist");
  app.add_option("--prefix-cache-disk-budget", flags.prefix_cache_disk_budget,
                 "size of the prefix cache's NVMe level, e.g. 64GiB (with --prefix-cache-dir)");
  app.add_flag("--kv-cache-persist", o.kv_cache_persist,
               "keep the prefix cache's NVMe level across restarts: a later run with the same "
               "model reuses its blocks (a manifest checks the model; blocks of another model, "
               "and corrupt ones, are discarded and recomputed, never served)");
  add_attention_flags(app, flags);
  add_tier_flags(app, flags);
}

// Where KV lives (docs/tiers.md): budgets per tier and the caching-vs-recompute policy.
void add_tier_flags(CLI::App& app, engine_flags& flags) {
  auto& t = flags.options.tiers;
  flags.policy_option =
      app.add_option("--policy", flags.policy_name,
                     "KV placement: alisa (three phases: device, + host/NVMe, + recompute; given "
                     "explicitly it implies --attention swa --kv-sparsity 0.8 unless those are "
                     "given), flexgen (static split, dense, fetch all), "
                     "vllm (paged device KV, preempt and recompute); the baselines are "
                     "re-implementations (docs/tiers.md)")
          ->capture_default_str();
  app.add_option("--device-kv-budget", flags.device_budget,
                 "device KV pool size, e.g. 512MiB; enables the tiered store (unset: each sequence "
                 "gets a dense device cache)");
  app.add_option("--host-kv-budget", flags.host_budget, "host RAM tier size, e.g. 8GiB");
  app.add_option("--nvme-dir", t.nvme_dir, "directory of the NVMe (RocksDB) tier: new, empty, or one alisa made (a non-empty directory of other files is refused); made owner-only, its files removed at exit");
  app.add_option("--nvme-kv-budget", flags.nvme_budget, "NVMe tier size, e.g. 64GiB");
  app.add_option("--force-phase", t.force_phase,
                 "alisa: force phase 2 (offload all but the newest block) or 3 (drop and recompute "
                 "them) instead of the cost model's choice");
}

namespace {

// Empty text = unset (0); otherwise a size, or an error naming the flag.
std::optional<std::string> parse_budget(const char* flag, const std::string& text, uint64_t& out) {
  out = 0;
  if (text.empty()) return std::nullopt;
  std::string error;
  const auto bytes = parse_byte_size(text, error);
  if (!bytes) return std::string(flag) + ": " + error;
  if (*bytes == 0) return std::string(flag) + " must be larger than 0";
  out = *bytes;
  return std::nullopt;
}

std::optional<std::string> finish_prefix_cache_flags(engine_flags& flags) {
  auto& o = flags.options;
  if (auto bad = parse_budget("--prefix-cache-disk-budget", flags.prefix_cache_disk_budget,
                              o.prefix_cache_disk_budget))
    return bad;
  if (!o.prefix_cache_dir.empty() && o.prefix_cache_disk_budget == 0)
    return "--prefix-cache-dir needs --prefix-cache-disk-budget";
  if (o.prefix_cache_dir.empty() && o.prefix_cache_disk_budget > 0)
    return "--prefix-cache-disk-budget needs --prefix-cache-dir";
  if (o.kv_cache_persist && o.prefix_cache_dir.empty())
    return "--kv-cache-persist needs --prefix-cache-dir (the NVMe level it keeps)";
  if (!o.prefix_cache_dir.empty() && o.prefix_cache_dir == o.tiers.nvme_dir)
    return "--prefix-cache-dir must differ from --nvme-dir (the NVMe tier wipes its directory)";
  return std::nullopt;
}

std::optional<std::string> finish_tier_flags(engine_flags& flags) {
  auto& t = flags.options.tiers;
  const auto policy = scheduler::parse_kv_policy(flags.policy_name);
  if (!policy)
    return "--policy must be one of " + scheduler::kv_policy_names() + "; got '" +
           flags.policy_name + "'";
  t.policy = *policy;
  if (auto bad = parse_budget("--device-kv-budget", flags.device_budget, t.device_budget)) return bad;
  if (auto bad = parse_budget("--host-kv-budget", flags.host_budget, t.host_budget)) return bad;
  if (auto bad = parse_budget("--nvme-kv-budget", flags.nvme_budget, t.nvme_budget)) return bad;
  uint64_t prefix_budget = 0;
  if (auto bad = parse_budget("--prefix-cache-budget", flags.prefix_cache_budget, prefix_budget))
    return bad;
  flags.options.prefix_cache_budget = prefix_budget;
  if (auto bad = finish_prefix_cache_flags(flags)) return bad;
  const bool attention_given = flags.attention_option && flags.attention_option->count() > 0;
  const bool policy_given = flags.policy_option && flags.policy_option->count() > 0;
  const bool sparsity_given = flags.sparsity_option && flags.sparsity_option->count() > 0;
  if (policy_given && t.policy == scheduler::kv_policy::alisa && !attention_given) {
    flags.attention_name = "swa";  // ALISA is SWA + the three phases, at the paper's 80% sparsity
    if (!sparsity_given) flags.options.attention.sparsity = 0.8;
  }
  // A memory node uses only the sizes: the tiering rules concern workers.
  return flags.check_tier_rules ? t.validate() : std::nullopt;
}

}  // namespace

// Sparse attention and KV storage: the same flags on every command that runs a model.
void add_attention_flags(CLI::App& app, engine_flags& flags) {
  auto& a = flags.options.attention;
  flags.attention_option = app.add_option("--attention", flags.attention_name,
                 "which tokens each decode step attends to: " + scheduler::attention_policy_names() +
                     " (swa = ALISA Sparse Window Attention; docs/attention.md)")
      ->capture_default_str();
  flags.sparsity_option = app.add_option("--kv-sparsity", a.sparsity,
                 "S in [0, 1): attend to (1 - S) of the visible tokens (the token budget)")
      ->capture_default_str();
  app.add_option("--swa-window", flags.swa_window,
                 "swa: the last W query steps whose attention mass scores a token; a positive "
                 "integer, or auto = the size of the recent half at each step")
      ->capture_default_str();
  app.add_option("--sinks", a.num_sinks, "streaming: attention-sink tokens kept at the start")
      ->capture_default_str();
  app.add_option("--kv-budget-min", a.min_budget, "never attend to fewer tokens than this")
      ->capture_default_str();
  app.add_option("--kv-budget-max", a.max_budget, "never attend to more tokens (0 = no cap)")
      ->capture_default_str();
  app.add_option("--kv-dtype", flags.kv_dtype_name,
                 "KV storage: fp32, fp16, bf16, int8 (per-channel, 64-token chunks)")
      ->capture_default_str();
}

// "auto" -> 0 (the selector's "recent half"), else a positive integer.
std::optional<std::string> parse_swa_window(const std::string& text, int& window) {
  if (text == "auto") {
    window = 0;
    return std::nullopt;
  }
  try {
    size_t used = 0;
    const long value = std::stol(text, &used);
    if (used == text.size() && value > 0 && value <= (1 << 30)) {
      window = static_cast<int>(value);
      return std::nullopt;
    }
  } catch (const std::exception&) {
  }
  return "--swa-window must be a positive integer or auto; got '" + text + "'";
}

std::optional<std::string> finish_engine_flags(engine_flags& flags) {
  flags.options.weight_type_from_model = flags.dtype_name == "auto";
  auto type = flags.options.weight_type_from_model ? std::optional<dtype>(dtype::f32)
                                                   : parse_dtype(flags.dtype_name);
  if (!type) return "--dtype must be one of auto, fp32, bf16, fp16, q8_0; got '" + flags.dtype_name + "'";
  flags.options.weight_type = *type;
  using check = model::load_options::weight_check;
  if (flags.check_weights == "auto") flags.options.check_weights = check::automatic;
  else if (flags.check_weights == "on") flags.options.check_weights = check::on;
  else if (flags.check_weights == "off") flags.options.check_weights = check::off;
  else return "--check-weights must be one of auto, on, off; got '" + flags.check_weights + "'";
  if (flags.backend_name == "cpu") {
    flags.options.backend = gpu::backend_kind::cpu;
  } else if (flags.backend_name == "cuda") {
    flags.options.backend = gpu::backend_kind::cuda;
  } else if (flags.backend_name == "auto") {
    flags.options.backend = gpu::backend_kind::automatic;
  } else {
    return "--backend must be cpu, cuda or auto; got '" + flags.backend_name + "'";
  }
  if (auto bad = finish_tier_flags(flags)) return bad;
  auto policy = scheduler::parse_attention_policy(flags.attention_name);
  if (!policy)
    return "--attention must be one of " + scheduler::attention_policy_names() + "; got '" +
           flags.attention_name + "'";
  flags.options.attention.policy = *policy;
  if (auto bad = parse_swa_window(flags.swa_window, flags.options.attention.window)) return *bad;
  if (auto bad = flags.options.attention.validate()) return *bad;
  auto kv = parse_kv_dtype(flags.kv_dtype_name);
  if (!kv) return "--kv-dtype must be one of fp32, fp16, bf16, int8; got '" + flags.kv_dtype_name + "'";
  flags.options.kv_type = *kv;
  if (flags.options.num_threads < 0) return "--threads must be >= 0";
  // More compute threads than cores only adds contention, and a few hundred can exceed a
  // process limit and abort at start-up: capped at 4 per hardware thread.
  const int hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (flags.options.num_threads > 4 * hardware)
    return "--threads " + std::to_string(flags.options.num_threads) + " exceeds this machine's cap of " +
           std::to_string(4 * hardware) + " (4 per hardware thread; it has " + std::to_string(hardware) + ")";
  if (flags.options.context_length < 0) return "--context must be >= 0";
  if (flags.options.max_prefill_tokens < 0)
    return "--max-prefill-tokens must be >= 0 (0 = no limit); got " +
           std::to_string(flags.options.max_prefill_tokens);
  return std::nullopt;
}

void add_sampling_flags(CLI::App& app, sampling_params& p) {
  app.add_option("--max-tokens,-n", p.max_tokens, "maximum number of tokens to generate")
      ->capture_default_str();
  app.add_option("--temperature", p.temperature, "0 = greedy; > 0 samples from softmax(logits/T)")
      ->capture_default_str();
  app.add_option("--top-p", p.top_p, "nucleus sampling mass in (0, 1]")->capture_default_str();
  app.add_option("--top-k", p.top_k, "keep only the k most likely tokens (0 = off)")
      ->capture_default_str();
  app.add_option("--seed", p.seed, "random seed; the same seed gives the same text")
      ->capture_default_str();
  app.add_option("--min-p", p.min_p,
                 "drop tokens below min-p x the most likely token's probability (0 = off)")
      ->capture_default_str();
  app.add_option("--repetition-penalty", p.repetition_penalty,
                 "> 1 discourages tokens of the prompt and the output (1 = off)")
      ->capture_default_str();
  app.add_option("--presence-penalty", p.presence_penalty,
                 "subtracted from the logit of every token already generated, in [-2, 2]")
      ->capture_default_str();
  app.add_option("--frequency-penalty", p.frequency_penalty,
                 "subtracted per time a token was generated, in [-2, 2]")
      ->capture_default_str();
  app.add_option("--stop", p.stop, "stop once the text contains this string (repeatable)");
  app.add_flag("--ignore-eos", p.ignore_eos, "keep generating after the end-of-sequence token");
}

}  // namespace alisa::cluster
