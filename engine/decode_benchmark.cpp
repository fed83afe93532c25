#include "engine/decode_benchmark.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

#include <set>
#include <stdexcept>

#include "engine/step_loop.hpp"

namespace alisa::engine {
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

// One repetition through the step loop, as a served batch runs: every sequence prefills its
// prompt (in chunks of the engine's prefill budget) and generates gen_len tokens, greedy, EOS
// ignored; a finished sequence frees its KV at once (--policy vllm preempts before a step when the
// device pool is short). The prefill phase ends with the step in which the last prompt completes;
// the decode phase is every step after it.
struct repetition_timing {
  double prompt_tps = 0.0;
  double decode_tps = 0.0;
  double throughput_tps = 0.0;     // all generated tokens / the whole run
  gpu::attention_counters decode;  // the decode phase's attention counters
  int num_preemptions = 0;
  int64_t tokens_reprefilled = 0;
};

void add_jobs(step_loop& loop, const decode_bench_options& o,
              const std::vector<std::vector<int32_t>>& prompts) {
  sampling_params greedy;
  greedy.temperature = 0.0f;
  greedy.max_tokens = o.gen_len;
  greedy.ignore_eos = true;
  for (size_t b = 0; b < prompts.size(); ++b) {
    submit_job job;
    job.id = request_id{b + 1};
    job.prompt_ids = prompts[b];
    job.sampling = greedy;
    if (auto bad = loop.add(job)) throw std::invalid_argument(*bad);
  }
}

// Jobs that sampled a token in this step (each sample streams its token: EOS is ignored).
void note_sampled(const step_report& report, std::set<uint64_t>& sampled) {
  for (const auto& c : report.chunks)
    if (!c.token_ids.empty()) sampled.insert(c.id.value);
  if (!report.failed.empty())
    throw std::runtime_error(report.failed.front().reason);
  if (!report.lost.empty())
    throw std::runtime_error(report.lost.front().reason);
}

repetition_timing run_once(local_engine& engine, const decode_bench_options& o,
                           const std::vector<std::vector<int32_t>>& prompts) {
  if (auto* store = engine.tier_store()) store->begin_job();
  step_loop loop(engine);
  add_jobs(loop, o, prompts);
  repetition_timing t;
  std::set<uint64_t> sampled;
  const auto start = clock_type::now();
  clock_type::time_point decode_start;
  int64_t decoded = 0;
  bool decoding = false;
  while (!loop.empty()) {
    const step_report report = loop.step();
    note_sampled(report, sampled);
    t.num_preemptions += loop.last_step().preempted;
    t.tokens_reprefilled += loop.last_step().rows_recomputed;
    if (decoding) {
      decoded += loop.last_step().sampled;
    } else if (sampled.size() == prompts.size()) {  // the last prompt completed in this step
      t.prompt_tps = double(o.batch) * o.prompt_len / seconds_since(start);
      engine.runner().reset_counters();
      decode_start = clock_type::now();
      decoding = true;
    }
  }
  t.throughput_tps = double(o.batch) * o.gen_len / seconds_since(start);
  t.decode_tps = decoded > 0 ? decoded / std::max(seconds_since(decode_start), 1e-9) : 0.0;
  t.decode = engine.runner().counters();
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

void record(const local_engine& engine, const decode_bench_options& o, const repetition_timing& t,
            decode_bench_result& result) {
  const int steps = std::max(1, static_cast<int>(t.decode.num_decode_rows / o.batch));
  result.prompt_tokens_per_s.push_back(t.prompt_tps);
  result.decode_tokens_per_s.push_back(t.decode_tps);
  record_attention(t.decode, steps, result);
  const auto* store = engine.tier_store();
  if (!store) return;
  result.throughput_tokens_per_s.push_back(t.throughput_tps);
  result.kv_transfer_ms_per_step.push_back(t.decode.kv_transfer_ms / steps);
  result.recompute_ms_per_step.push_back(t.decode.recompute_ms / steps);
  result.num_preemptions = t.num_preemptions;
  result.tokens_reprefilled = t.tokens_reprefilled;
  result.tiers = store->report();
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
    const repetition_timing t = run_once(engine, o, prompts);
    if (r >= o.warmup) record(engine, o, t, result);
  }
  probe();
  result.measured_read_bandwidth_gbs = summarize(bandwidth).median;
  return result;
}

}  // namespace alisa::engine
