#include "engine/tiered_kv_store.hpp"

#include <random>

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "engine/rate_probe.hpp"
#include "engine/tiered_sequence.hpp"
#include "proto/byte_size.hpp"
#include "storage/block_codec.hpp"
#include "storage/ram_store.hpp"
#include "storage/rocksdb_store.hpp"

namespace alisa::engine {
namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point start) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

scheduler::kv_geometry geometry_for(const model::model_config& c, kv_dtype type) {
  scheduler::kv_geometry g;
  g.num_layers = c.num_layers;
  g.kv_dim = c.kv_dim();
  g.hidden_size = c.hidden_size;
  g.kv_row_bytes = 2 * uint64_t(c.kv_dim()) * kv_dtype_size(type);
  const uint64_t stats = type == kv_dtype::i8 ? 2 * 2 * uint64_t(c.kv_dim()) * sizeof(float) : 0;
  g.kv_block_bytes = g.kv_row_bytes * kv_block_tokens + stats;
  g.device_slot_bytes = gpu::device_kv_pool::slot_bytes_for(c.kv_dim(), type);
  g.hidden_block_bytes = uint64_t(kv_block_tokens) * c.hidden_size * sizeof(float);
  return g;
}

void print_warning(const std::string& message) {
  std::fprintf(stderr, "alisa: warning: %s\n", message.c_str());
}

// A budget must hold at least one stored block (keys + values + header) of one layer.
absl::Status check_budget(const char* flag, uint64_t budget, uint64_t block_bytes) {
  if (budget >= block_bytes + 2 * storage::block_header_bytes()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(flag, " ", format_byte_size(budget),
                                                 " is smaller than one KV block (",
                                                 format_byte_size(block_bytes), ": ",
                                                 kv_block_tokens, " tokens of one layer)"));
}

// Every running sequence keeps its open block of every layer on the device: a pool with fewer
// slots than layers cannot run anything, so it is refused at start-up rather than mid-run.
absl::Status check_device_pool(const gpu::device_kv_pool& pool, int num_layers, uint64_t budget) {
  if (pool.num_slots() >= num_layers) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "--device-kv-budget ", format_byte_size(budget), " holds ", pool.num_slots(),
      " KV blocks; this model needs at least ", num_layers, " per running sequence (one block of ",
      kv_block_tokens, " tokens per layer): give at least ",
      format_byte_size(uint64_t(num_layers) * pool.slot_bytes())));
}

}  // namespace

bool tiered_kv_store::has_lower_tier() const {
  if (options_.policy == scheduler::kv_policy::vllm) return false;  // keeps every block on device
  return (host_ && !host_failed_) || (nvme_ && !nvme_failed_) || options_.host_from_memory_nodes;
}

tiered_kv_store::tiered_kv_store(gpu::backend& be, const model::model_config& config,
                                 kv_dtype kv_type, const tier_options& options, warning_sink warn)
    : backend_(be),
      config_(config),
      kv_type_(kv_type),
      options_(options),
      warn_(warn ? std::move(warn) : warning_sink(print_warning)),
      geometry_(geometry_for(config, kv_type)) {}

tiered_kv_store::~tiered_kv_store() {
  if (fetch_keys_) backend_.release(fetch_keys_);
}

absl::StatusOr<std::unique_ptr<tiered_kv_store>> tiered_kv_store::open(
    gpu::backend& be, const model::model_config& config, kv_dtype kv_type, dtype weight_type,
    const tier_options& options, double attended_fraction, warning_sink warn) {
  if (auto bad = options.validate()) return absl::InvalidArgumentError(*bad);
  std::unique_ptr<tiered_kv_store> store(
      new tiered_kv_store(be, config, kv_type, options, std::move(warn)));
  const auto& g = store->geometry_;
  try {
    store->pool_ = std::make_unique<gpu::device_kv_pool>(be, config.kv_dim(), kv_type,
                                                         options.device_budget);
  } catch (const std::invalid_argument& e) {
    return absl::InvalidArgumentError(absl::StrCat("--device-kv-budget: ", e.what()));
  }
  if (auto s = check_device_pool(*store->pool_, config.num_layers, options.device_budget); !s.ok())
    return s;
  if (options.host_budget > 0) {
    if (auto s = check_budget("--host-kv-budget", options.host_budget, g.kv_block_bytes); !s.ok())
      return s;
    store->host_ = storage::make_ram_store(options.host_budget);
  }
  if (!options.nvme_dir.empty()) {
    if (auto s = check_budget("--nvme-kv-budget", options.nvme_budget, g.kv_block_bytes); !s.ok())
      return s;
    storage::rocksdb_store_options nvme_options;
    nvme_options.directory = options.nvme_dir;
    nvme_options.budget_bytes = options.nvme_budget;
    nvme_options.write_buffer_bytes = static_cast<size_t>(options.nvme_write_buffer);
    auto nvme = storage::open_rocksdb_store(nvme_options);
    if (!nvme.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("--nvme-dir ", options.nvme_dir, ": ", std::string(nvme.status().message())));
    store->nvme_ = std::move(*nvme);
  }
  store->report_.rates =
      measure_rates(be, config, weight_type, store->nvme_.get(), g.kv_block_bytes / 2);
  scheduler::planner_options plan;
  plan.policy = options.policy;
  plan.budgets = {options.device_budget, options.host_budget,
                  options.nvme_dir.empty() ? 0 : options.nvme_budget};
  plan.attended_fraction = attended_fraction;
  plan.force_phase = options.force_phase;
  store->plan_options_ = plan;
  try {
    store->planner_ = std::make_unique<scheduler::phase_planner>(plan, g, store->report_.rates);
  } catch (const std::invalid_argument& e) {
    return absl::InvalidArgumentError(e.what());
  }
  store->fetch_keys_ = static_cast<float*>(be.allocate(store->pool_->slot_bytes()));
  return store;
}

void tiered_kv_store::use_host_store(std::unique_ptr<storage::block_store> store) {
  host_ = std::move(store);
  host_failed_ = false;
  refresh_host_budget();
}

void tiered_kv_store::refresh_host_budget() {
  options_.host_budget = host_ ? host_->budget_bytes() : 0;
  plan_options_.budgets.host_bytes = options_.host_budget;
  planner_ = std::make_unique<scheduler::phase_planner>(plan_options_, geometry_, report_.rates);
  replan();
}

uint64_t tiered_kv_store::first_sequence_id() {
  std::random_device entropy;
  return (uint64_t{entropy()} << 32) | 1;
}

std::unique_ptr<tiered_sequence> tiered_kv_store::make_sequence(int capacity, int final_length) {
  const bool keep_hidden = options_.policy == scheduler::kv_policy::alisa;
  std::unique_ptr<tiered_sequence> seq(
      new tiered_sequence(*this, next_sequence_++, capacity, final_length, keep_hidden));
  attach(seq.get());
  return seq;
}

void tiered_kv_store::attach(tiered_sequence* seq) {
  live_.push_back(seq);
  replan();
}

void tiered_kv_store::detach(tiered_sequence* seq) {
  std::erase(live_, seq);
  for (size_t layer = 0; layer < seq->blocks_.size(); ++layer)
    for (auto& e : seq->blocks_[layer])
      if (e.tier == kv_tier::device && e.slot >= 0) release_slot(e.slot);
  for (kv_tier t : {kv_tier::host, kv_tier::nvme})
    if (auto* s = store_for(t)) {
      if (auto status = s->erase_sequence(seq->id()); !status.ok())
        warn_store_failure(t, std::string(status.message()));
    }
  refresh_resident();
  replan();
}

// Plans every live sequence, logs phase changes, then moves blocks to their targets.
void tiered_kv_store::hold_replans(bool hold) {
  replans_held_ = hold;
  if (!hold) replan();
}

void tiered_kv_store::replan() {
  if (replanning_ || replans_held_ || live_.empty()) return;
  replanning_ = true;
  std::vector<scheduler::sequence_demand> demands;
  for (const auto* s : live_) demands.push_back({s->id(), s->length(), s->final_length()});
  const scheduler::batch_plan plan = planner_->plan(demands);
  report_.plan_reason = plan.reason;
  if (live_.size() >= report_.peak_plan_sequences) {
    report_.peak_plan_sequences = live_.size();
    report_.peak_plan_reason = plan.reason;
  }
  for (size_t i = 0; i < live_.size(); ++i) {
    tiered_sequence& s = *live_[i];
    const bool first = s.plan_.sequence != s.id();
    if (first || s.plan_.phase != plan.sequences[i].phase) {
      // A server runs for days: the log keeps the latest kMaxPhaseChanges transitions.
      if (report_.phases.size() >= kMaxPhaseChanges)
        report_.phases.erase(report_.phases.begin(),
                             report_.phases.begin() + static_cast<std::ptrdiff_t>(kMaxPhaseChanges / 2));
      report_.phases.push_back({s.id(), s.length(), plan.sequences[i].phase});
    }
    s.plan_ = plan.sequences[i];
  }
  const auto start = clock_type::now();
  for (auto* s : live_) s->rebalance();
  report_.move_ms += ms_since(start);
  replanning_ = false;
}

storage::block_store* tiered_kv_store::store_for(kv_tier tier) const {
  if (tier == kv_tier::host) return host_failed_ ? nullptr : host_.get();
  if (tier == kv_tier::nvme) return nvme_failed_ ? nullptr : nvme_.get();
  return nullptr;
}

void tiered_kv_store::warn_store_failure(kv_tier tier, const std::string& what) {
  (tier == kv_tier::host ? host_failed_ : nvme_failed_) = true;
  const std::string message =
      absl::StrCat("the ", std::string(to_string(tier)), " KV tier failed (", what,
                   "); it is no longer written: its blocks stay where they are or are "
                   "recomputed when needed");
  report_.warnings.push_back(message);
  warn_(message);
}

void tiered_kv_store::refresh_resident() {
  auto set = [&](kv_tier t, uint64_t bytes) {
    auto& s = report_.tiers[static_cast<size_t>(t)];
    s.bytes_resident = 0;
    s.add_resident(bytes);
  };
  set(kv_tier::device, pool_->bytes_in_use());
  if (host_) set(kv_tier::host, host_->bytes_used());
  if (nvme_) set(kv_tier::nvme, nvme_->bytes_used());
}

void tiered_kv_store::begin_job() {
  planner_ = std::make_unique<scheduler::phase_planner>(plan_options_, geometry_, report_.rates);
  tier_report fresh;
  fresh.rates = report_.rates;
  fresh.warnings = report_.warnings;
  fresh.plan_reason = report_.plan_reason;
  report_ = std::move(fresh);
  refresh_resident();
}

void tiered_kv_store::release_slot(int slot) { pool_->release(slot); }

// A free device slot; when there is none, the oldest full device block of any sequence (never one
// this step may still write) is demoted to a memory tier first.
int tiered_kv_store::allocate_slot() {
  if (auto slot = pool_->allocate()) return *slot;
  tiered_sequence* victim = nullptr;
  int victim_layer = 0, victim_block = 0;
  for (auto* s : live_)
    for (int layer = 0; layer < static_cast<int>(s->blocks_.size()); ++layer)
      for (int b = 0; b < static_cast<int>(s->blocks_[layer].size()); ++b)
        if (s->blocks_[layer][b].tier == kv_tier::device && s->blocks_[layer][b].complete &&
            (!victim || b < victim_block)) {
          victim = s, victim_layer = layer, victim_block = b;
          break;
        }
  if (victim && move_block(*victim, victim_layer, victim_block, kv_tier::host) != kv_tier::device)
    if (auto slot = pool_->allocate()) return *slot;
  throw std::runtime_error(absl::StrCat(
      "device KV pool full (", pool_->num_slots(), " blocks of ",
      format_byte_size(pool_->slot_bytes()), ") and no block can leave it: raise "
      "--device-kv-budget", options_.policy == scheduler::kv_policy::vllm
                                ? " (policy vllm preempts sequences before a step instead)"
                                : " or give a host/NVMe tier"));
}

}  // namespace alisa::engine
