#include "engine/prefill_interference.hpp"

#include <chrono>
#include <random>
#include <stdexcept>

#include "engine/step_loop.hpp"

namespace alisa::engine {
namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

submit_job random_job(uint64_t id, int prompt_len, int max_tokens, int vocab, int bos,
                      std::mt19937_64& rng) {
  std::uniform_int_distribution<int32_t> token(3, vocab - 1);
  submit_job job;
  job.id = request_id{id};
  job.prompt_ids.push_back(bos);
  while (static_cast<int>(job.prompt_ids.size()) < prompt_len) job.prompt_ids.push_back(token(rng));
  job.sampling.max_tokens = max_tokens;
  job.sampling.ignore_eos = true;
  return job;
}

// One step; true when job `id` sampled (or ended) in it.
bool timed_step(step_loop& loop, uint64_t id, double& ms) {
  const auto start = clock_type::now();
  const step_report report = loop.step();
  ms = ms_since(start);
  for (const auto* ended : {&report.failed, &report.lost})
    if (!ended->empty()) throw std::runtime_error(ended->front().reason);
  for (const auto& c : report.chunks)
    if (c.id.value == id && !c.token_ids.empty()) return true;
  for (const auto& f : report.finished)
    if (f.id.value == id) return true;
  return false;
}

}  // namespace

interference_result run_prefill_interference(local_engine& engine, const interference_options& o,
                                             int max_prefill_tokens) {
  const auto& c = engine.config();
  std::mt19937_64 rng(o.seed);
  step_loop loop(engine, max_prefill_tokens);
  const int decoder_tokens = c.max_position_embeddings - o.decoder_prompt_len;
  for (int d = 0; d < o.decoders; ++d)
    if (auto bad = loop.add(random_job(uint64_t(d) + 1, o.decoder_prompt_len, decoder_tokens,
                                       c.vocab_size, c.bos_token_id, rng)))
      throw std::runtime_error(*bad);
  interference_result r;
  r.max_prefill_tokens = max_prefill_tokens;
  double ms = 0.0;
  while (!timed_step(loop, uint64_t(o.decoders), ms)) {}  // every decoder's prompt has run
  for (int s = 0; s < o.baseline_steps; ++s) {
    timed_step(loop, 0, ms);
    r.itl_alone_ms.push_back(ms);
  }
  const uint64_t long_id = uint64_t(o.decoders) + 1;
  if (auto bad = loop.add(random_job(long_id, o.long_prompt_len, 1, c.vocab_size,
                                     c.bos_token_id, rng)))
    throw std::runtime_error(*bad);
  const auto submitted = clock_type::now();
  for (bool first = false; !first;) {
    first = timed_step(loop, long_id, ms);
    r.itl_during_ms.push_back(ms);
  }
  r.long_ttft_ms = ms_since(submitted);
  return r;
}

}  // namespace alisa::engine
