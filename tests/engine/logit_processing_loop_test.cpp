// Logit processing and logprobs through the one step loop on the real stories260K weights:
// min_p = 1 leaves only the top token (a sampled job then equals greedy), a repetition penalty
// changes the greedy story, and the reported logprobs are a distribution's, with a greedy
// token's logprob the top one.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/step_loop.hpp"
#include "tests/support/stories_engine.hpp"

namespace alisa::engine {
namespace {

struct ran {
  std::vector<int32_t> tokens;
  std::vector<token_logprob> logprobs;
};

ran run_alone(local_engine& engine, const sampling_params& p) {
  submit_job s;
  s.id = request_id{1};
  const auto ids = engine.tokenizer().encode("Once upon a time", true);
  s.prompt_ids.assign(ids.begin(), ids.end());
  s.sampling = p;
  step_loop loop(engine);
  EXPECT_FALSE(loop.add(s).has_value());
  ran out;
  for (int step = 0; step < 1000 && !loop.empty(); ++step)
    for (auto& c : loop.step().chunks) {
      out.tokens.insert(out.tokens.end(), c.token_ids.begin(), c.token_ids.end());
      out.logprobs.insert(out.logprobs.end(), c.logprobs.begin(), c.logprobs.end());
    }
  return out;
}

TEST(LogitProcessingLoop, MinPOfOneMakesSamplingGreedy) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  auto engine = testing::open_stories_engine();
  sampling_params greedy;
  greedy.max_tokens = 40;
  sampling_params sampled = greedy;
  sampled.temperature = 1.5f;
  sampled.seed = 3;
  const auto free_run = run_alone(*engine, sampled);
  sampled.min_p = 1.0f;
  EXPECT_EQ(run_alone(*engine, sampled).tokens, run_alone(*engine, greedy).tokens);
  EXPECT_NE(free_run.tokens, run_alone(*engine, greedy).tokens) << "T = 1.5 alone is not greedy";
}

TEST(LogitProcessingLoop, ARepetitionPenaltyChangesTheGreedyStory) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  auto engine = testing::open_stories_engine();
  sampling_params p;
  p.max_tokens = 60;
  const auto plain = run_alone(*engine, p);
  p.repetition_penalty = 1.5f;
  EXPECT_NE(run_alone(*engine, p).tokens, plain.tokens);
}

TEST(LogitProcessingLoop, LogprobsFollowEveryTokenAndGreedyPicksTheTopOne) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  auto engine = testing::open_stories_engine();
  sampling_params p;
  p.max_tokens = 20;
  p.logprobs = true;
  p.top_logprobs = 5;
  const auto r = run_alone(*engine, p);
  ASSERT_EQ(r.logprobs.size(), r.tokens.size());
  for (size_t i = 0; i < r.tokens.size(); ++i) {
    const auto& lp = r.logprobs[i];
    EXPECT_EQ(lp.token_id, r.tokens[i]);
    ASSERT_EQ(lp.top_ids.size(), 5u);
    EXPECT_EQ(lp.top_ids[0], r.tokens[i]);
    EXPECT_FLOAT_EQ(lp.top_logprobs[0], lp.logprob);
    double mass = 0;
    for (float l : lp.top_logprobs) mass += std::exp(double(l));
    EXPECT_LE(mass, 1.0 + 1e-5);
    EXPECT_FALSE(lp.text.empty());
  }
}

}  // namespace
}  // namespace alisa::engine
