#include "actors/decode_benchmark.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

#include "actors/tiered_batch.hpp"
#include "gpu/sampler.hpp"

namespace alisa::actors {
namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

std::vector<std::vector<int32_t>> random_prompts(const decode_bench_options& o, int vocab, int bos) {
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<int32_t> token(3, vocab - 1);
  std::vector<std::vector<int32_t>> prompts(o.batch);
  for (auto& p : prompts) {
    p.push_back(bos);
    while (static_cast<int>(p.size()) < o.prompt_len) p.push_back(token(rng));
  }
  return prompts;
}

struct repetition_timing {
  double prompt_tps = 0.0;
  double decode_tps = 0.0;
  gpu::attention_counters decode;  // the decode steps' attention counters
};

repetition_timing run_once(local_engine& engine, const decode_bench_options& o,
                           const std::vector<std::vector<int32_t>>& prompts) {
  auto& runner = engine.runner();
  std::vector<std::unique_ptr<gpu::dense_kv_cache>> caches;
  std::vector<std::unique_ptr<gpu::attention_selection>> selections;
  std::vector<gpu::forward_request> requests(o.batch);
  for (int b = 0; b < o.batch; ++b) {
    caches.push_back(runner.make_cache(o.prompt_len + o.gen_len));
    selections.push_back(engine.make_selection());
    requests[b] = {caches[b].get(), prompts[b], false, selections[b].get()};
  }
  std::vector<float> logits;
  const auto prefill_start = clock_type::now();
  runner.forward(requests, logits);
  repetition_timing t;
  t.prompt_tps = o.batch * o.prompt_len / seconds_since(prefill_start);

  const int vocab = runner.config().vocab_size;
  std::vector<int32_t> next(o.batch);
  runner.reset_counters();
  const auto decode_start = clock_type::now();
  for (int step = 0; step < o.gen_len; ++step) {
    for (int b = 0; b < o.batch; ++b) {
      next[b] = gpu::argmax({logits.data() + static_cast<size_t>(b) * vocab, static_cast<size_t>(vocab)});
      requests[b].tokens = {&next[b], 1};
    }
    runner.forward(requests, logits);
  }
  t.decode_tps = o.batch * o.gen_len / seconds_since(decode_start);
  t.decode = runner.counters();
  return t;
}

// Per decode step (the whole batch): K/V bytes read, attention and selection time; per layer and
// query head: tokens attended. Identical across repetitions except the times (one sample each).
void record_attention(const gpu::attention_counters& c, int steps, decode_bench_result& result) {
  result.kv_bytes_per_step = double(c.kv_bytes_read) / steps;
  result.kv_tokens_attended_per_step = c.mean_tokens_attended();
  result.attention_ms_per_step.push_back(c.attention_ms / steps);
  result.selection_ms_per_step.push_back(c.selection_ms / steps);
}

// One repetition through the tiered store; `timed` ones are recorded.
void run_tiered(local_engine& engine, const decode_bench_options& o,
                const std::vector<std::vector<int32_t>>& prompts, bool timed,
                decode_bench_result& result) {
  engine.tier_store()->begin_job();
  const tiered_batch_timing t = run_tiered_batch(engine, o, prompts);
  if (!timed) return;
  const int steps = std::max(1, static_cast<int>(t.counters.num_decode_rows / o.batch));
  result.prompt_tokens_per_s.push_back(t.prompt_tokens_per_s);
  result.decode_tokens_per_s.push_back(t.decode_tokens_per_s);
  result.throughput_tokens_per_s.push_back(t.throughput_tokens_per_s);
  record_attention(t.counters, steps, result);
  result.kv_transfer_ms_per_step.push_back(t.counters.kv_transfer_ms / steps);
  result.recompute_ms_per_step.push_back(t.counters.recompute_ms / steps);
  result.num_preemptions = t.num_preemptions;
  result.tokens_reprefilled = t.tokens_reprefilled;
  result.tiers = engine.tier_store()->report();
}

}  // namespace

summary summarize(const std::vector<double>& values) {
  summary s;
  if (values.empty()) return s;
  s.mean = std::accumulate(values.begin(), values.end(), 0.0) / values.size();
  double sq = 0.0;
  for (double v : values) sq += (v - s.mean) * (v - s.mean);
  s.stddev = values.size() > 1 ? std::sqrt(sq / (values.size() - 1)) : 0.0;
  std::vector<double> sorted(values);
  std::sort(sorted.begin(), sorted.end());
  const size_t mid = sorted.size() / 2;
  s.median = sorted.size() % 2 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
  return s;
}

decode_bench_result run_decode_benchmark(local_engine& engine, const decode_bench_options& o) {
  auto& runner = engine.runner();
  const auto& c = runner.config();
  const auto prompts = random_prompts(o, c.vocab_size, c.bos_token_id);
  decode_bench_result result;
  result.weight_bytes_per_step = runner.weight_bytes_per_step();
  // The bandwidth probe runs on the same threads between the timed repetitions, so the decode and
  // the roofline it is compared with see the same (possibly noisy) machine; the median is reported.
  std::vector<double> bandwidth;
  auto probe = [&] {
    bandwidth.push_back(engine.backend().measure_read_bandwidth_gbs(o.bandwidth_probe_bytes, 3));
  };
  for (int r = 0; r < o.warmup + o.repetitions; ++r) {
    if (r >= o.warmup) probe();
    if (engine.tier_store()) {
      run_tiered(engine, o, prompts, r >= o.warmup, result);
      continue;
    }
    const auto t = run_once(engine, o, prompts);
    if (r < o.warmup) continue;
    result.prompt_tokens_per_s.push_back(t.prompt_tps);
    result.decode_tokens_per_s.push_back(t.decode_tps);
    record_attention(t.decode, o.gen_len, result);
  }
  probe();
  result.measured_read_bandwidth_gbs = summarize(bandwidth).median;
  return result;
}

}  // namespace alisa::actors
