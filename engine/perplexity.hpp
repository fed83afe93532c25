#pragma once
// perplexity — teacher-forced evaluation computed exactly the way llama.cpp's `llama-perplexity`
// does, so the numbers compare with it directly:
//   1. tokenize the whole text once, with BOS;
//   2. cut it into floor(n_tokens / ctx) chunks of ctx tokens (at most max_chunks when > 0); the
//      first token of every chunk is replaced by BOS; every chunk starts with an empty KV cache;
//   3. score only the second half of each chunk: the predictions made at positions
//      ctx/2 .. ctx-2 of the next token (ctx - 1 - ctx/2 tokens per chunk);
//   4. ppl = exp(mean NLL); stderr = ppl * sqrt((mean(NLL²) - mean(NLL)²) / (count - 1)).
// Text shorter than two chunks is refused.
//
// Every position is processed as a decode step (one query row per chunk per step, chunks batched
// together), so a sparse attention policy sees at each position exactly the token set it would
// select at that step of a real decode fed the true tokens; with the dense policy this equals a
// full-chunk prefill (to float rounding). KV rows are stored in the engine's --kv-dtype.
// Position ctx-1 of a chunk predicts nothing inside it and is not fed (ctx-1 steps per chunk).
// The runner returns logits for every step, also the first half's unscored ones; they are not read.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/local_engine.hpp"

namespace alisa::engine {

struct perplexity_options {
  int context = 512;     // --ctx: tokens per chunk (>= 4, <= the model's context)
  int max_chunks = 0;    // --chunks: evaluate at most this many (0 = all)
  int batch = 32;        // --batch: chunks decoded together (weights streamed once per step)
};

struct perplexity_result {
  double ppl = 0.0;
  double stderr_ppl = 0.0;
  double mean_nll = 0.0;
  int num_chunks = 0;
  int64_t num_tokens_scored = 0;
  int64_t num_text_tokens = 0;
  double seconds = 0.0;  // wall time of the whole evaluation, tokenization included
  double kv_tokens_attended_per_step = 0.0;  // tokens one query head read per layer (mean)
};

// Errors (InvalidArgument) name what is wrong: ctx out of range, max_chunks < 0, batch < 1, text
// shorter than two chunks (the message gives its token count and the count needed). A runner
// failure becomes Internal. Resets engine.runner()'s attention counters (they feed
// kv_tokens_attended_per_step). Thread affinity: the engine's (one thread drives its runner).
absl::StatusOr<perplexity_result> evaluate_perplexity(local_engine& engine, const std::string& text,
                                                      const perplexity_options& options);

// The log-softmax NLL of `target` under one row of logits (double accumulation, as llama.cpp).
// Precondition: vocab_size >= 1, 0 <= target < vocab_size.
double token_nll(const float* logits, int vocab_size, int target);

// For tests: the logits [ctx][vocab] that evaluate_perplexity computes for one chunk of tokens
// (chunk[0] is used as given). Same step-by-step path, one sequence, every position fed.
// Precondition: 1 <= chunk.size() <= the model's context, ids inside the vocabulary (else the
// runner throws std::invalid_argument).
std::vector<float> teacher_forced_logits(local_engine& engine, const std::vector<int32_t>& chunk);

}  // namespace alisa::engine
