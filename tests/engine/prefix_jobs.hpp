#pragma once
// prefix_jobs — what the prefix-cache tests share: deterministic "documents" and questions as
// token ids, and one greedy job run alone through a step loop (the engine's one loop).
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/local_engine.hpp"
#include "engine/step_loop.hpp"
#include "tests/support/stories_engine.hpp"

namespace alisa::engine {

// Deterministic token ids in [3, vocab): a "document" of n tokens, or a question.
inline std::vector<int32_t> tokens(int n, uint32_t seed, int vocab) {
  std::vector<int32_t> out;
  uint32_t x = seed * 2654435761u + 12345u;
  for (int i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    out.push_back(3 + static_cast<int32_t>((x >> 8) % static_cast<uint32_t>(vocab - 3)));
  }
  return out;
}

inline std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

struct answer {
  std::vector<int32_t> tokens;
  int cached_tokens = -1;
};

// One greedy job alone through a step loop of `engine`.
inline answer ask(local_engine& engine, uint64_t id, const std::vector<int32_t>& prompt, int max_tokens) {
  step_loop loop(engine);
  submit_job s;
  s.id = request_id{id};
  s.prompt_ids = prompt;
  s.sampling.max_tokens = max_tokens;
  s.sampling.ignore_eos = true;
  EXPECT_FALSE(loop.add(s).has_value());
  answer a;
  for (int step = 0; step < 2000 && !loop.empty(); ++step) {
    const step_report r = loop.step();
    for (const auto& c : r.chunks) a.tokens.insert(a.tokens.end(), c.token_ids.begin(), c.token_ids.end());
    for (const auto& f : r.finished) a.cached_tokens = f.cached_tokens;
    for (const auto& f : r.failed) ADD_FAILURE() << f.reason;
    for (const auto& f : r.lost) ADD_FAILURE() << f.reason;
  }
  return a;
}

inline engine_options with_policy(scheduler::attention_policy policy) {
  engine_options o;
  o.attention.policy = policy;
  if (policy != scheduler::attention_policy::dense) o.attention.sparsity = 0.8;
  return o;
}

// SWA on a synthetic GQA model (8 query heads over 2 KV heads) with tiered KV (a small device
// pool and a host tier), so prefix blocks carry hidden states.
inline engine_options gqa_tiered_swa() {
  engine_options o = with_policy(scheduler::attention_policy::swa);
  o.model = "synthetic:tiny-gqa";
  o.tiers.device_budget = 256 * 1024;
  o.tiers.host_budget = 8 << 20;
  return o;
}

// stories260K from ../shared/models, or a synthetic model when o.model names one.
inline std::unique_ptr<local_engine> open_engine(const engine_options& o) {
  if (o.model.rfind("synthetic:", 0) != 0) return testing::open_stories_engine(o);
  auto engine = local_engine::open(o);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? std::move(*engine) : nullptr;
}

}  // namespace alisa::engine
