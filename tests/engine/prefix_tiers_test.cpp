// The prefix cache below host RAM: its NVMe level (--prefix-cache-dir), kept across restarts with
// --kv-cache-persist. A job served from the NVMe level, or from a restarted engine's level, gives
// exactly its cold tokens for every attention policy; a corrupt block or a foreign manifest is
// recomputed, never served; the level stays within its budget.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/prefix_block_codec.hpp"
#include "engine/prefix_cache.hpp"
#include "storage/rocksdb_store.hpp"
#include "tests/engine/prefix_jobs.hpp"
#include "tests/support/shared_models.hpp"

namespace alisa::engine {
namespace {

namespace fs = std::filesystem;

// A directory for one test, removed after it.
struct scratch_dir {
  fs::path path = fs::temp_directory_path() /
                  ("alisa-prefix-tiers-" + std::to_string(::getpid()) + "-" +
                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  scratch_dir() { fs::remove_all(path); }
  ~scratch_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// An NVMe level only (no RAM): every hit comes from disk.
engine_options on_nvme(engine_options o, const fs::path& dir, bool persist = false) {
  o.prefix_cache_budget = 0;
  o.prefix_cache_dir = dir.string();
  o.prefix_cache_disk_budget = 64 << 20;
  o.kv_cache_persist = persist;
  return o;
}

struct questions {
  std::vector<int32_t> first, second;
};

questions about_one_document(int vocab) {
  const auto document = tokens(300, 1, vocab);
  return {concat(document, tokens(12, 2, vocab)), concat(document, tokens(9, 3, vocab))};
}

uint64_t nvme_hits(local_engine& e) {
  return e.prefixes()->stats().hit_tokens_by_tier[static_cast<size_t>(prefix_tier::nvme)];
}

TEST(PrefixTiers, WarmFromNvmeEqualsColdForEveryPolicy) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  using scheduler::attention_policy;
  for (auto policy : {attention_policy::dense, attention_policy::swa, attention_policy::streaming,
                      attention_policy::local, attention_policy::h2o}) {
    SCOPED_TRACE(std::string(scheduler::to_string(policy)));
    scratch_dir dir;
    auto cold_engine = open_engine(with_policy(policy));
    auto warm_engine = open_engine(on_nvme(with_policy(policy), dir.path));
    ASSERT_TRUE(cold_engine && warm_engine);
    const auto q = about_one_document(cold_engine->config().vocab_size);
    EXPECT_EQ(ask(*warm_engine, 1, q.first, 24).cached_tokens, 0);
    const answer warm = ask(*warm_engine, 2, q.second, 40);
    EXPECT_EQ(warm.tokens, ask(*cold_engine, 2, q.second, 40).tokens);
    if (policy == attention_policy::h2o) {
      EXPECT_EQ(warm.cached_tokens, 0) << "H2O recomputes its prompt whole";
    } else {
      EXPECT_GE(warm.cached_tokens, 192);
      EXPECT_EQ(nvme_hits(*warm_engine), static_cast<uint64_t>(warm.cached_tokens))
          << "no RAM level: every cached token came from the NVMe level";
    }
  }
}

TEST(PrefixTiers, WarmFromNvmeEqualsColdWithTieredKvOnAGqaModel) {
  const engine_options o = gqa_tiered_swa();
  scratch_dir dir;
  auto cold_engine = open_engine(o);
  auto warm_engine = open_engine(on_nvme(o, dir.path));
  ASSERT_TRUE(cold_engine && warm_engine);
  const auto q = about_one_document(cold_engine->config().vocab_size);
  ask(*warm_engine, 1, q.first, 24);
  const answer warm = ask(*warm_engine, 2, q.second, 40);
  EXPECT_EQ(warm.tokens, ask(*cold_engine, 2, q.second, 40).tokens);
  EXPECT_GE(warm.cached_tokens, 192);
}

// Runs the first question in an engine that then exits, and the second in a new engine on the
// same directory: what the second finds.
answer after_restart(const engine_options& first_run, const engine_options& second_run,
                     const questions& q) {
  {
    auto engine = open_engine(first_run);
    EXPECT_TRUE(engine);
    if (engine) ask(*engine, 1, q.first, 24);
  }
  auto engine = open_engine(second_run);
  EXPECT_TRUE(engine);
  return engine ? ask(*engine, 2, q.second, 40) : answer{};
}

TEST(PrefixTiers, APersistentLevelServesAfterARestart) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  using scheduler::attention_policy;
  for (auto policy : {attention_policy::dense, attention_policy::swa, attention_policy::streaming,
                      attention_policy::local, attention_policy::h2o}) {
    SCOPED_TRACE(std::string(scheduler::to_string(policy)));
    scratch_dir dir;
    auto cold_engine = open_engine(with_policy(policy));
    ASSERT_TRUE(cold_engine);
    const auto q = about_one_document(cold_engine->config().vocab_size);
    const engine_options o = on_nvme(with_policy(policy), dir.path, /*persist=*/true);
    const answer warm = after_restart(o, o, q);
    if (policy == attention_policy::h2o)
      EXPECT_EQ(warm.cached_tokens, 0) << "H2O recomputes its prompt whole";
    else
      EXPECT_GE(warm.cached_tokens, 192) << "the first run's blocks outlived it";
    EXPECT_EQ(warm.tokens, ask(*cold_engine, 2, q.second, 40).tokens);
  }
}

TEST(PrefixTiers, APersistentLevelServesAfterARestartOnAGqaModelWithTieredKv) {
  const engine_options base = gqa_tiered_swa();
  scratch_dir dir;
  auto cold_engine = open_engine(base);
  ASSERT_TRUE(cold_engine);
  const auto q = about_one_document(cold_engine->config().vocab_size);
  const engine_options o = on_nvme(base, dir.path, /*persist=*/true);
  const answer warm = after_restart(o, o, q);
  EXPECT_GE(warm.cached_tokens, 192);
  EXPECT_EQ(warm.tokens, ask(*cold_engine, 2, q.second, 40).tokens);
}

TEST(PrefixTiers, WithoutPersistenceARestartStartsEmpty) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  scratch_dir dir;
  const engine_options o = on_nvme(engine_options{}, dir.path, /*persist=*/false);
  auto probe = open_engine(engine_options{});
  ASSERT_TRUE(probe);
  const auto q = about_one_document(probe->config().vocab_size);
  EXPECT_EQ(after_restart(o, o, q).cached_tokens, 0);
}

TEST(PrefixTiers, AManifestOfAnotherModelDiscardsTheLevel) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  scratch_dir dir;
  const engine_options o = on_nvme(engine_options{}, dir.path, /*persist=*/true);
  auto probe = open_engine(engine_options{});
  ASSERT_TRUE(probe);
  const auto q = about_one_document(probe->config().vocab_size);
  {
    auto engine = open_engine(o);
    ASSERT_TRUE(engine);
    ask(*engine, 1, q.first, 24);
  }
  const fs::path manifest = dir.path / "prefix-cache.manifest";
  ASSERT_TRUE(fs::exists(manifest));
  std::ofstream(manifest, std::ios::trunc) << "alisa prefix cache\nformat 1\nidentity weights 0123\n";
  auto engine = open_engine(o);
  ASSERT_TRUE(engine);
  EXPECT_EQ(engine->prefixes()->level(prefix_tier::nvme)->bytes(), 0u) << "discarded at open";
  EXPECT_EQ(ask(*engine, 2, q.second, 40).cached_tokens, 0);
}

// Flips one byte in the middle of every `nth` stored prefix block of a closed persistent level.
int corrupt_blocks(const fs::path& dir, size_t nth) {
  storage::rocksdb_store_options so;
  so.directory = dir.string();
  so.budget_bytes = 64 << 20;
  so.persistent = true;
  so.reuse_contents = true;
  auto store = storage::open_rocksdb_store(so);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return 0;
  auto contents = storage::rocksdb_store_contents(**store);
  int corrupted = 0;
  for (size_t i = 0; i < contents->size(); i += nth) {
    const storage::block_key key = (*contents)[i].first;
    std::string buffer;
    auto value = (*store)->get(key, buffer);
    EXPECT_TRUE(value.ok());
    std::string damaged(*value);
    damaged[damaged.size() / 2] ^= 0x40;
    EXPECT_EQ((*store)->put(key, damaged).outcome, storage::put_outcome::stored);
    ++corrupted;
  }
  return corrupted;
}

TEST(PrefixTiers, ACorruptBlockOnNvmeIsRecomputedNotServed) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  scratch_dir dir;
  const engine_options o = on_nvme(with_policy(scheduler::attention_policy::swa), dir.path, true);
  auto cold_engine = open_engine(with_policy(scheduler::attention_policy::swa));
  ASSERT_TRUE(cold_engine);
  const auto q = about_one_document(cold_engine->config().vocab_size);
  {
    auto engine = open_engine(o);
    ASSERT_TRUE(engine);
    ask(*engine, 1, q.first, 24);
  }
  ASSERT_GT(corrupt_blocks(dir.path, 2), 0);  // blocks 0 and 2 of the chain, in key order
  auto engine = open_engine(o);
  ASSERT_TRUE(engine);
  const answer warm = ask(*engine, 2, q.second, 40);
  EXPECT_EQ(warm.tokens, ask(*cold_engine, 2, q.second, 40).tokens);
  EXPECT_LT(warm.cached_tokens, 256) << "a corrupt block ends the served chain";
  EXPECT_GE(engine->prefixes()->level(prefix_tier::nvme)->stats().rejected, 1u);
}

TEST(PrefixTiers, TheNvmeLevelStaysWithinItsBudget) {
  prefix_cache_shape shape{2, 4, 8, false};
  scratch_dir dir;
  storage::rocksdb_store_options so;
  so.directory = dir.path.string();
  const size_t block_bytes = encode_prefix_block(prefix_cache(1, shape, "m").make_block(
                                                     tokens(64, 1, 100), 0))
                                 .size();
  so.budget_bytes = 3 * block_bytes;
  auto store = storage::open_rocksdb_store(so);
  ASSERT_TRUE(store.ok()) << store.status();
  prefix_cache cache(0, shape, "m");
  cache.add_level(std::make_unique<prefix_store_level>(prefix_tier::nvme, std::move(*store), true));
  const auto doc = tokens(5 * kv_block_tokens, 4, 100);
  for (int b = 0; b < 5; ++b) cache.publish(cache.make_block(doc, b));
  auto* nvme = cache.level(prefix_tier::nvme);
  EXPECT_LE(nvme->bytes(), 3 * block_bytes);
  EXPECT_EQ(nvme->stats().evicted, 2u);
  EXPECT_EQ(cache.stats().bytes, 0u) << "no RAM level";
}

TEST(PrefixBlockCodec, RoundTripsAndRefusesDamageAndStrangers) {
  prefix_cache_shape shape{2, 4, 8, true};
  prefix_cache cache(1, shape, "m");
  const auto doc = tokens(2 * kv_block_tokens, 5, 100);
  prefix_block b = cache.make_block(doc, 1);
  for (size_t i = 0; i < b.keys.size(); ++i) b.keys[i] = static_cast<float>(i) * 0.5f;
  b.hidden[3] = -2.0f;
  const std::string bytes = encode_prefix_block(b);
  const std::span<const int32_t> block_tokens(doc.data() + kv_block_tokens, kv_block_tokens);
  auto back = decode_prefix_block(bytes, b.key, b.parent, block_tokens, shape);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->keys, b.keys);
  EXPECT_EQ(back->hidden, b.hidden);
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 1;
  EXPECT_TRUE(absl::IsDataLoss(decode_prefix_block(flipped, b.key, b.parent, block_tokens, shape).status()));
  EXPECT_TRUE(absl::IsDataLoss(
      decode_prefix_block(bytes.substr(0, 100), b.key, b.parent, block_tokens, shape).status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(
      decode_prefix_block(bytes, b.parent, b.parent, block_tokens, shape).status()));
  // An untiered engine uses a tiered one's block (without its hidden rows), not the reverse.
  prefix_cache_shape untiered = shape;
  untiered.keep_hidden = false;
  auto kv_only = decode_prefix_block(bytes, b.key, b.parent, block_tokens, untiered);
  ASSERT_TRUE(kv_only.ok()) << kv_only.status();
  EXPECT_EQ(kv_only->values, b.values);
  EXPECT_TRUE(kv_only->hidden.empty());
  prefix_block without_hidden = *kv_only;
  EXPECT_TRUE(absl::IsFailedPrecondition(decode_prefix_block(encode_prefix_block(without_hidden), b.key,
                                                             b.parent, block_tokens, shape)
                                             .status()));
  prefix_cache_shape other = shape;
  other.kv_dim = 8;
  EXPECT_TRUE(absl::IsFailedPrecondition(
      decode_prefix_block(bytes, b.key, b.parent, block_tokens, other).status()));
}

}  // namespace
}  // namespace alisa::engine
