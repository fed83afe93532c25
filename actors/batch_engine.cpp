#include "actors/batch_engine.hpp"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "actors/tiered_sequence.hpp"

namespace alisa::actors {
namespace {

using clock_type = std::chrono::steady_clock;

double ms_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// The runner's counters over one step. Doubles: a step's counts are split between jobs.
struct counter_delta {
  double row_layers = 0, tokens_attended = 0, kv_bytes_read = 0;
  double attention_ms = 0, selection_ms = 0, kv_transfer_ms = 0, recompute_ms = 0;
  double tokens_recomputed = 0;
};

counter_delta difference(const gpu::attention_counters& a, const gpu::attention_counters& b) {
  return {double(a.num_decode_row_layers - b.num_decode_row_layers),
          double(a.tokens_attended - b.tokens_attended),
          double(a.kv_bytes_read - b.kv_bytes_read),
          a.attention_ms - b.attention_ms,
          a.selection_ms - b.selection_ms,
          a.kv_transfer_ms - b.kv_transfer_ms,
          a.recompute_ms - b.recompute_ms,
          double(a.tokens_recomputed - b.tokens_recomputed)};
}

// A job's share of its decode steps' counters, summed.
struct decode_totals {
  int num_steps = 0;
  counter_delta sum;

  // Adds a step's delta: `decode_share` of its decode-row counters, `row_share` of the rest.
  void add(const counter_delta& d, double decode_share, double row_share) {
    ++num_steps;
    sum.row_layers += d.row_layers * decode_share;
    sum.tokens_attended += d.tokens_attended * decode_share;
    sum.kv_bytes_read += d.kv_bytes_read * decode_share;
    sum.attention_ms += d.attention_ms * row_share;
    sum.selection_ms += d.selection_ms * row_share;
    sum.kv_transfer_ms += d.kv_transfer_ms * row_share;
    sum.recompute_ms += d.recompute_ms * row_share;
    sum.tokens_recomputed += d.tokens_recomputed * row_share;
  }

  // The per-step figures as gpu::generate()'s record_attention() derives them.
  void report(job_finished& f) const {
    f.num_decode_steps = num_steps;
    if (num_steps == 0) return;
    f.kv_tokens_attended_per_step = sum.row_layers > 0 ? sum.tokens_attended / sum.row_layers : 0;
    f.kv_bytes_read_per_step = sum.kv_bytes_read / num_steps;
    f.attention_ms = sum.attention_ms;
    f.selection_ms = sum.selection_ms;
    f.kv_transfer_ms = sum.kv_transfer_ms;
    f.recompute_ms = sum.recompute_ms;
    f.tokens_recomputed = std::llround(sum.tokens_recomputed);
  }
};

}  // namespace

struct batch_engine::job {
  request_id id;
  std::vector<int32_t> prompt;
  sampling_params params;
  gpu::sampler pick;
  std::string pending_text;  // streamed since the last report
  gpu::text_stream text;
  std::unique_ptr<gpu::dense_kv_cache> cache;
  std::unique_ptr<tiered_sequence> sequence;
  std::unique_ptr<gpu::attention_selection> selection;
  std::vector<int32_t> step_tokens;
  std::vector<int32_t> new_tokens;
  int num_generated = 0;
  int previous = 0;
  clock_type::time_point start = clock_type::now(), prefill_done;
  decode_totals decode;

  job(const submit_job& s)
      : id(s.id),
        prompt(s.prompt_ids),
        params(s.sampling),
        pick(s.sampling),
        text(s.sampling, [this](std::string_view piece) { pending_text.append(piece); }),
        step_tokens(s.prompt_ids),
        previous(s.prompt_ids.empty() ? 0 : s.prompt_ids.back()) {}

  gpu::forward_request request() const {
    return {cache.get(), step_tokens, false, selection.get(), sequence.get()};
  }
  // Its prompt has run: every further step is a decode step.
  bool prefilled() const { return prefill_done != clock_type::time_point{}; }

  job_finished summary(gpu::finish_reason reason) const {
    job_finished f;
    f.id = id;
    f.finish_reason = std::string(gpu::to_string(reason));
    f.num_prompt_tokens = static_cast<int>(prompt.size());
    f.num_generated_tokens = num_generated;
    if (prefilled()) {
      f.prefill_ms = ms_between(start, prefill_done);
      f.decode_ms = ms_between(prefill_done, clock_type::now());
    }
    decode.report(f);
    return f;
  }
};

batch_engine::batch_engine(local_engine& engine) : engine_(engine) {}
batch_engine::~batch_engine() = default;

std::optional<std::string> batch_engine::add(const submit_job& s) {
  if (jobs_.count(s.id.value)) return absl::StrCat("request ", s.id.value, " is already running");
  if (s.prompt_ids.empty()) return std::string("empty prompt");
  if (auto bad = validate(s.sampling)) return bad;
  const int context = engine_.config().max_position_embeddings;
  if (static_cast<int>(s.prompt_ids.size()) >= context)
    return absl::StrCat("prompt is ", s.prompt_ids.size(), " tokens but the model's context is ",
                        context);
  for (int32_t t : s.prompt_ids)
    if (t < 0 || t >= engine_.config().vocab_size)
      return absl::StrCat("token id ", t, " is outside the vocabulary");
  auto j = std::make_unique<job>(s);
  j->selection = engine_.make_selection();
  if (engine_.tier_store())
    j->sequence = engine_.make_tiered_sequence(static_cast<int>(s.prompt_ids.size()) +
                                               s.sampling.max_tokens);
  else
    j->cache = engine_.runner().make_cache();
  jobs_[s.id.value] = std::move(j);
  return std::nullopt;
}

void batch_engine::cancel(request_id id) { jobs_.erase(id.value); }

void batch_engine::finish(job& j, gpu::finish_reason reason, step_report& report) {
  j.text.finish();
  if (!j.pending_text.empty() || !j.new_tokens.empty())
    report.chunks.push_back({j.id, std::move(j.new_tokens), std::move(j.pending_text)});
  report.finished.push_back(j.summary(reason));
}

void batch_engine::attribute(const gpu::attention_counters& before, std::span<job* const> order,
                             std::span<const gpu::forward_request> requests) {
  double rows = 0, single_rows = 0;
  for (const auto& r : requests) {
    rows += static_cast<double>(r.tokens.size());
    if (r.tokens.size() == 1) single_rows += 1;
  }
  const counter_delta d = difference(engine_.runner().counters(), before);
  for (size_t i = 0; i < order.size(); ++i) {
    // A job's prompt step is not decode (gpu::generate() resets the counters after it), even a
    // one-token prompt's single row.
    if (!order[i]->prefilled()) continue;
    const double n = static_cast<double>(requests[i].tokens.size());
    order[i]->decode.add(d, n == 1 ? 1.0 / single_rows : 0.0, n / rows);
  }
}

// The job's next token from its logits row, with generate()'s stopping rules.
void batch_engine::sample(job& j, std::span<const float> logits, step_report& report) {
  (void)report;
  if (!j.prefilled()) j.prefill_done = clock_type::now();
  const int next = j.pick.sample(logits);
  const auto& tok = engine_.tokenizer();
  const int eos = tok.eos_id() >= 0 ? tok.eos_id() : engine_.config().eos_token_id;
  if (next == eos && !j.params.ignore_eos) {
    j.step_tokens.clear();  // finished: eos
    return;
  }
  ++j.num_generated;
  j.new_tokens.push_back(next);
  const bool stopped = j.text.add(tok.token_bytes(j.previous, next));
  j.previous = next;
  j.step_tokens.assign(1, next);
  if (stopped) j.step_tokens.clear();
}

step_report batch_engine::step() {
  step_report report;
  std::vector<gpu::forward_request> requests;
  std::vector<job*> order;
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    job& j = *it->second;
    const auto r = j.request();
    if (j.num_generated >= j.params.max_tokens) {
      finish(j, gpu::finish_reason::length, report);
      it = jobs_.erase(it);
    } else if (r.length() + static_cast<int>(j.step_tokens.size()) > r.capacity()) {
      finish(j, gpu::finish_reason::context_full, report);
      it = jobs_.erase(it);
    } else {
      requests.push_back(r);
      order.push_back(&j);
      ++it;
    }
  }
  if (requests.empty()) return report;
  const gpu::attention_counters before = engine_.runner().counters();
  try {
    engine_.runner().forward(requests, logits_);
  } catch (const std::exception& e) {
    for (job* j : order) report.lost.push_back({j->id, e.what()});
    for (job* j : order) jobs_.erase(j->id.value);
    return report;
  }
  attribute(before, order, requests);
  const size_t vocab = static_cast<size_t>(engine_.config().vocab_size);
  for (size_t i = 0; i < order.size(); ++i) {
    job& j = *order[i];
    const size_t before = j.num_generated;
    sample(j, {logits_.data() + i * vocab, vocab}, report);
    if (j.step_tokens.empty()) {  // eos or a stop string
      const bool eos = static_cast<size_t>(j.num_generated) == before;
      finish(j, eos ? gpu::finish_reason::eos : gpu::finish_reason::stop_string, report);
      jobs_.erase(j.id.value);
    } else if (!j.pending_text.empty() || !j.new_tokens.empty()) {
      report.chunks.push_back({j.id, std::move(j.new_tokens), std::move(j.pending_text)});
      j.new_tokens.clear();
      j.pending_text.clear();
    }
  }
  return report;
}

}  // namespace alisa::actors
