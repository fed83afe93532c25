// The tiered KV store end to end: placement never changes results (device only, phase II to host,
// host full so NVMe, forced phase III recompute), recompute is bit-identical, a corrupt NVMe value
// is recomputed instead of used, a failing NVMe disk degrades with a warning, and one context
// larger than device + host completes from NVMe. Real RocksDB, real stories260K weights.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <filesystem>
#include <random>
#include <unistd.h>

#include "engine/local_engine.hpp"
#include "engine/tiered_sequence.hpp"
#include "gpu/sampler.hpp"
#include "storage/block_codec.hpp"
#include "tests/support/shared_models.hpp"

namespace alisa::engine {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() /
                       ("alisa-tier-test-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(dir);
  return dir;
}

engine_options stories(scheduler::attention_policy attention) {
  engine_options o;
  o.model = testing::shared_model_path("stories260K/stories260K.bin");
  o.tokenizer = testing::shared_model_path("stories260K/tok512.bin");
  o.attention.policy = attention;
  o.attention.sparsity = attention == scheduler::attention_policy::dense ? 0.0 : 0.8;
  return o;
}

engine_options synthetic_tiny(int context) {
  engine_options o;
  o.model = "synthetic:tiny";
  o.context_length = context;
  o.attention.policy = scheduler::attention_policy::swa;
  o.attention.sparsity = 0.8;
  return o;
}

std::unique_ptr<local_engine> open_engine(const engine_options& o) {
  auto engine = local_engine::open(o);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? std::move(*engine) : nullptr;
}

std::vector<int> prompt_ids(const local_engine& e, int n) {
  std::mt19937 rng(11);
  std::vector<int> ids{e.config().bos_token_id};
  std::uniform_int_distribution<int> token(3, e.config().vocab_size - 1);
  while (static_cast<int>(ids.size()) < n) ids.push_back(token(rng));
  return ids;
}

// Greedy decode driven step by step, so a test can tamper with the tiers between steps. Returns
// the tokens; every step's logits are appended to `logits` when given.
std::vector<int> greedy(local_engine& e, const std::vector<int>& prompt, int steps,
                        std::vector<float>* logits = nullptr,
                        const std::function<void(int step)>& between_steps = {}) {
  auto selection = e.make_selection();
  std::unique_ptr<gpu::dense_kv_cache> cache;
  std::unique_ptr<tiered_sequence> sequence;
  if (e.tier_store())
    sequence = e.make_tiered_sequence(static_cast<int>(prompt.size()) + steps);
  else
    cache = e.runner().make_cache();
  std::vector<int32_t> tokens(prompt.begin(), prompt.end());
  std::vector<int> out;
  std::vector<float> step_logits;
  for (int s = 0; s < steps; ++s) {
    const gpu::forward_request r{cache.get(), tokens, false, selection.get(), sequence.get()};
    e.runner().forward({&r, 1}, step_logits);
    if (logits) logits->insert(logits->end(), step_logits.begin(), step_logits.end());
    out.push_back(gpu::argmax(step_logits));
    tokens.assign(1, out.back());
    if (between_steps) between_steps(s);
  }
  return out;
}

const tier_stats& stats(local_engine& e, kv_tier t) {
  return e.tier_store()->report().tiers[static_cast<size_t>(t)];
}

constexpr uint64_t KiB = 1024, MiB = 1024 * 1024;

// stories260K: 5 layers, kv_dim 32, so one device slot (64 tokens, K+V, fp32) is 16 KiB and
// 160 KiB holds two blocks per layer: a 250-token sequence must leave the device.
class placement : public ::testing::TestWithParam<scheduler::attention_policy> {};

TEST_P(placement, GreedyTokensIdenticalInEveryTier) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  const int steps = 250;
  auto reference_engine = open_engine(stories(GetParam()));
  ASSERT_TRUE(reference_engine);
  const auto prompt = *reference_engine->encode_prompt("Once upon a time");
  std::vector<float> reference_logits;
  const auto reference = greedy(*reference_engine, prompt, steps, &reference_logits);
  reference_engine.reset();

  struct setup {
    const char* name;
    tier_options tiers;
    kv_tier must_hit;
  };
  const fs::path nvme = temp_dir("placement");
  std::vector<setup> setups;
  setups.push_back({"device", {}, kv_tier::device});
  setups.back().tiers.device_budget = 64 * MiB;
  setups.push_back({"phase II host", {}, kv_tier::host});
  setups.back().tiers.device_budget = 160 * KiB;
  setups.back().tiers.host_budget = 64 * MiB;
  setups.push_back({"host full, NVMe", {}, kv_tier::nvme});
  setups.back().tiers.device_budget = 160 * KiB;
  setups.back().tiers.host_budget = 100 * KiB;
  setups.back().tiers.nvme_dir = nvme.string();
  setups.back().tiers.nvme_budget = 64 * MiB;
  setups.push_back({"phase III recompute", {}, kv_tier::dropped});
  setups.back().tiers.device_budget = 160 * KiB;
  setups.back().tiers.host_budget = 64 * MiB;
  setups.back().tiers.force_phase = 3;
  for (const auto& s : setups) {
    SCOPED_TRACE(s.name);
    auto o = stories(GetParam());
    o.tiers = s.tiers;
    auto engine = open_engine(o);
    ASSERT_TRUE(engine);
    std::vector<float> logits;
    EXPECT_EQ(greedy(*engine, prompt, steps, &logits), reference);
    // fp32 KV: the attention op sees the same bytes, so the logits are equal bit for bit.
    ASSERT_EQ(logits.size(), reference_logits.size());
    EXPECT_EQ(std::memcmp(logits.data(), reference_logits.data(), logits.size() * sizeof(float)), 0);
    EXPECT_GT(stats(*engine, s.must_hit).hits, 0u);
    if (s.must_hit == kv_tier::dropped) {
      EXPECT_GT(engine->tier_store()->report().tokens_recomputed, 0u);
    }
    EXPECT_TRUE(engine->tier_store()->report().warnings.empty());
  }
  fs::remove_all(nvme);
}

INSTANTIATE_TEST_SUITE_P(attention, placement,
                         ::testing::Values(scheduler::attention_policy::dense,
                                           scheduler::attention_policy::swa),
                         [](const auto& info) { return std::string(scheduler::to_string(info.param)); });

// A synthetic Llama (GQA-free tiny preset) through phase III: recompute from hidden states gives
// bit-identical logits to the dense cache.
TEST(tiered_store, SyntheticRecomputeIsBitIdentical) {
  auto reference_engine = open_engine(synthetic_tiny(1024));
  ASSERT_TRUE(reference_engine);
  const auto prompt = prompt_ids(*reference_engine, 150);
  std::vector<float> reference_logits;
  const auto reference = greedy(*reference_engine, prompt, 120, &reference_logits);
  reference_engine.reset();
  auto o = synthetic_tiny(1024);
  o.tiers.device_budget = 64 * KiB;  // tiny: 2 layers, kv_dim 32: 16 KiB slots, 2 per layer
  o.tiers.host_budget = 64 * MiB;
  o.tiers.force_phase = 3;
  auto engine = open_engine(o);
  ASSERT_TRUE(engine);
  std::vector<float> logits;
  EXPECT_EQ(greedy(*engine, prompt, 120, &logits), reference);
  ASSERT_EQ(logits.size(), reference_logits.size());
  EXPECT_EQ(std::memcmp(logits.data(), reference_logits.data(), logits.size() * sizeof(float)), 0);
  EXPECT_GT(engine->tier_store()->report().tokens_recomputed, 0u);
}

// One context whose KV exceeds device + host budgets completes from NVMe with the same tokens.
TEST(tiered_store, ContextBeyondHostRamCompletesFromNvme) {
  auto reference_engine = open_engine(synthetic_tiny(4096));
  ASSERT_TRUE(reference_engine);
  const auto prompt = prompt_ids(*reference_engine, 2000);
  const auto reference = greedy(*reference_engine, prompt, 40);
  reference_engine.reset();
  const fs::path nvme = temp_dir("long");
  auto o = synthetic_tiny(4096);
  o.tiers.device_budget = 128 * KiB;  // 4 blocks per layer of the 33 needed (16 KiB slots)
  o.tiers.host_budget = 256 * KiB;
  o.tiers.nvme_dir = nvme.string();
  o.tiers.nvme_budget = 256 * MiB;
  auto engine = open_engine(o);
  ASSERT_TRUE(engine);
  EXPECT_EQ(greedy(*engine, prompt, 40), reference);
  const auto& r = engine->tier_store()->report();
  const uint64_t kv_bytes = 2040ull * 2 * 32 * 4 * 2;  // tokens x layers x kv_dim x fp32 x K,V
  EXPECT_GT(kv_bytes, o.tiers.device_budget + o.tiers.host_budget);
  EXPECT_GT(r.tiers[size_t(kv_tier::nvme)].bytes_read, 0u);
  EXPECT_GT(r.tiers[size_t(kv_tier::nvme)].peak_bytes_resident, 0u);
  engine.reset();
  fs::remove_all(nvme);
}

// Flips one payload byte of an NVMe-resident block after the prefill: the checksum catches it,
// the tokens are recomputed from hidden states, and the output does not change.
TEST(tiered_store, CorruptNvmeValueIsRecomputedNotUsed) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  auto reference_engine = open_engine(stories(scheduler::attention_policy::dense));
  ASSERT_TRUE(reference_engine);
  const auto prompt = prompt_ids(*reference_engine, 200);
  const auto reference = greedy(*reference_engine, prompt, 30);
  reference_engine.reset();
  const fs::path nvme = temp_dir("corrupt");
  auto o = stories(scheduler::attention_policy::dense);
  o.tiers.device_budget = 160 * KiB;
  o.tiers.nvme_dir = nvme.string();
  o.tiers.nvme_budget = 64 * MiB;
  std::vector<std::string> warnings;
  auto engine = open_engine(o);
  ASSERT_TRUE(engine);
  bool corrupted = false;
  const auto tokens = greedy(*engine, prompt, 30, nullptr, [&](int step) {
    if (step != 0) return;
    storage::block_store* store = engine->tier_store()->tier_store(kv_tier::nvme);
    const storage::block_key key{engine->tier_store()->newest_sequence_id(), 0, kv_part::keys, 0};
    std::string buffer;
    auto value = store->get(key, buffer);
    ASSERT_TRUE(value.ok()) << "block 0 of layer 0 should be on NVMe after the prefill";
    std::string bad(*value);
    bad[bad.size() - 7] ^= 0x5a;
    ASSERT_EQ(store->put(key, bad).outcome, storage::put_outcome::stored);
    corrupted = true;
  });
  ASSERT_TRUE(corrupted);
  EXPECT_EQ(tokens, reference);
  const auto& r = engine->tier_store()->report();
  EXPECT_GT(r.tiers[size_t(kv_tier::nvme)].misses, 0u);
  EXPECT_GT(r.tokens_recomputed, 0u);
  ASSERT_FALSE(r.warnings.empty());
  EXPECT_NE(r.warnings.front().find("checksum"), std::string::npos) << r.warnings.front();
  engine.reset();
  fs::remove_all(nvme);
}

// The NVMe directory disappears under a running job (as a failed or full disk would make writes
// fail): the flush error is a warning, blocks stay in RAM or are dropped for recompute, and the
// tokens do not change.
TEST(tiered_store, NvmeWriteFailureFallsBackWithWarning) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  auto reference_engine = open_engine(stories(scheduler::attention_policy::swa));
  ASSERT_TRUE(reference_engine);
  const auto prompt = prompt_ids(*reference_engine, 100);
  const auto reference = greedy(*reference_engine, prompt, 300);
  reference_engine.reset();
  const fs::path nvme = temp_dir("fail");
  auto o = stories(scheduler::attention_policy::swa);
  o.tiers.device_budget = 160 * KiB;
  o.tiers.host_budget = 100 * KiB;
  o.tiers.nvme_dir = nvme.string();
  o.tiers.nvme_budget = 64 * MiB;
  o.tiers.nvme_write_buffer = 16 * KiB;  // flush (and so fail) after a block or two
  auto engine = open_engine(o);
  ASSERT_TRUE(engine);
  fs::remove_all(nvme);
  EXPECT_EQ(greedy(*engine, prompt, 300), reference);
  const auto& r = engine->tier_store()->report();
  ASSERT_FALSE(r.warnings.empty()) << "a failed NVMe write must be reported";
  EXPECT_NE(r.warnings.front().find("nvme"), std::string::npos) << r.warnings.front();
}

TEST(tiered_store, BudgetSmallerThanOneBlockIsAClearError) {
  auto o = synthetic_tiny(512);
  o.tiers.device_budget = 1000;
  auto engine = local_engine::open(o);
  ASSERT_FALSE(engine.ok());
  EXPECT_NE(std::string(engine.status().message()).find("--device-kv-budget"), std::string::npos);
  EXPECT_NE(std::string(engine.status().message()).find("smaller than one block"), std::string::npos);
  o.tiers.device_budget = 1 * MiB;
  o.tiers.host_budget = 1000;
  engine = local_engine::open(o);
  ASSERT_FALSE(engine.ok());
  EXPECT_NE(std::string(engine.status().message()).find("--host-kv-budget"), std::string::npos);
}

TEST(tiered_store, UnwritableNvmeDirIsAClearError) {
  const fs::path file = temp_dir("file");
  { std::ofstream(file.string()) << "x"; }
  auto o = synthetic_tiny(512);
  o.tiers.device_budget = 1 * MiB;
  o.tiers.nvme_dir = (file / "sub").string();
  o.tiers.nvme_budget = 64 * MiB;
  auto engine = local_engine::open(o);
  ASSERT_FALSE(engine.ok());
  EXPECT_NE(std::string(engine.status().message()).find("--nvme-dir"), std::string::npos)
      << engine.status();
  fs::remove_all(file);
}

// Finished sequences free their KV in every tier (range delete on the stores).
TEST(tiered_store, FinishedSequenceFreesEveryTier) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  const fs::path nvme = temp_dir("free");
  auto o = stories(scheduler::attention_policy::dense);
  o.tiers.device_budget = 160 * KiB;
  o.tiers.host_budget = 100 * KiB;
  o.tiers.nvme_dir = nvme.string();
  o.tiers.nvme_budget = 64 * MiB;
  auto engine = open_engine(o);
  ASSERT_TRUE(engine);
  greedy(*engine, prompt_ids(*engine, 200), 60);
  auto* store = engine->tier_store();
  EXPECT_EQ(store->free_device_slots(), store->device_slots());
  EXPECT_EQ(store->tier_store(kv_tier::host)->bytes_used(), 0u);
  EXPECT_EQ(store->tier_store(kv_tier::nvme)->bytes_used(), 0u);
  EXPECT_GT(store->report().tiers[size_t(kv_tier::nvme)].peak_bytes_resident, 0u);
  engine.reset();
  fs::remove_all(nvme);
}

}  // namespace
}  // namespace alisa::engine
