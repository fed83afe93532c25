#pragma once
// Command-line flags shared by every command that runs a model (run, bench, later node/cluster):
// they fill engine::engine_options and sampling_params. Parsing stays here; validation of values
// happens once in finish_*() so every command reports bad values the same way.
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "engine/local_engine.hpp"
#include "proto/sampling_params.hpp"

namespace alisa::cluster {

struct engine_flags {
  engine::engine_options options;
  std::string dtype_name = "auto";
  std::string check_weights = "auto";
  std::string backend_name = "auto";
  std::string attention_name = "dense";
  std::string kv_dtype_name = "fp32";
  std::string swa_window = "auto";
  // Tiered KV (strings so sizes like 512MiB parse with one clear error).
  std::string policy_name = "alisa";
  std::string device_budget, host_budget, nvme_budget;
  std::string prefix_cache_budget;  // --prefix-cache-budget, parsed into options
  std::string prefix_cache_disk_budget;  // --prefix-cache-disk-budget, parsed into options
  CLI::Option* attention_option = nullptr;  // to tell "--attention given" from its default
  CLI::Option* policy_option = nullptr;
  CLI::Option* sparsity_option = nullptr;
  // Whether finish_engine_flags() checks how the tier flags combine (tier_options::validate);
  // false for a memory node, which only takes the host and NVMe sizes.
  bool check_tier_rules = true;
};

// Adds the model, backend, attention and KV flags.
void add_engine_flags(CLI::App& app, engine_flags& flags);
void add_attention_flags(CLI::App& app, engine_flags& flags);
void add_tier_flags(CLI::App& app, engine_flags& flags);
// Converts the string flags; returns an error message naming the bad flag.
std::optional<std::string> finish_engine_flags(engine_flags& flags);

void add_sampling_flags(CLI::App& app, sampling_params& params);

}  // namespace alisa::cluster
