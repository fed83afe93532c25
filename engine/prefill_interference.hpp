#pragma once
// prefill_interference — what a long prompt arriving costs the jobs already decoding: `decoders`
// short jobs decode through the step loop; their inter-token latency (the wall time of a step:
// each gets one token per step) is timed for baseline_steps steps alone, then a long prompt joins
// and every step until its first token is timed again. Run once per prefill budget
// (--max-prefill-tokens): whole-prompt prefill stalls the decoders for one huge step, chunked
// prefill spreads the prompt over many short ones.
#include <cstdint>
#include <vector>

#include "engine/local_engine.hpp"

namespace alisa::engine {

struct interference_options {
  int decoders = 8;
  int decoder_prompt_len = 32;
  int long_prompt_len = 16384;
  int baseline_steps = 32;
  uint64_t seed = 1;
};

struct interference_result {
  int max_prefill_tokens = 0;
  std::vector<double> itl_alone_ms;   // one per baseline step
  std::vector<double> itl_during_ms;  // one per step while the long prompt prefilled
  double long_ttft_ms = 0.0;          // the long prompt's submission to its first token
};

// Precondition: positive sizes; decoder_prompt_len + baseline_steps + the prefill's steps and
// long_prompt_len + 1 fit the model's context. Throws std::runtime_error when a job fails.
interference_result run_prefill_interference(local_engine& engine, const interference_options& o,
                                             int max_prefill_tokens);

}  // namespace alisa::engine
