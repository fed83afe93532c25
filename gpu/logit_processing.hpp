#pragma once
// logit_processing — what happens to a row of logits between the model and the pick, as vLLM
// and OpenAI define it, and the log-probabilities reported back:
//   1. repetition penalty over prompt and generated tokens (CTRL: a positive logit is divided by
//      the penalty, a negative one multiplied);
//   2. presence and frequency penalties over the generated tokens (OpenAI: logit -= presence *
//      [count > 0] + frequency * count);
//   3. min_p: with temperature > 0, tokens whose probability is below min_p x the top token's
//      are removed (set to -inf) before top-k / top-p (sampler).
// Greedy picks see steps 1–2 only. Log-probabilities are log_softmax of the logits after 1–2.
#include <cstdint>
#include <span>
#include <vector>

#include "proto/messages.hpp"
#include "proto/sampling_params.hpp"

namespace alisa::gpu {

// Applies steps 1–2 in place. `prompt` and `generated` are the job's token ids so far.
void apply_penalties(std::span<float> logits, const sampling_params& p,
                     std::span<const int32_t> prompt, std::span<const int32_t> generated);

// Applies step 3 in place (nothing when temperature is 0 or min_p is 0).
void apply_min_p(std::span<float> logits, const sampling_params& p);

// The log-probability of `chosen` and of the `top` most likely tokens (most likely first, ties
// by lower id) under log_softmax(logits). Texts are left empty for the caller to fill.
token_logprob log_probabilities(std::span<const float> logits, int32_t chosen, int top);

}  // namespace alisa::gpu
