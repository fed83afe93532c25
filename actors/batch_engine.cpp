#include "actors/batch_engine.hpp"

#include "absl/strings/str_cat.h"
#include "actors/tiered_sequence.hpp"

namespace alisa::actors {
namespace {

using clock_type = std::chrono::steady_clock;

double ms_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

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
  const auto now = clock_type::now();
  const bool prefilled = j.prefill_done != clock_type::time_point{};
  report.finished.push_back({j.id, std::string(gpu::to_string(reason)),
                             static_cast<int>(j.prompt.size()), j.num_generated,
                             prefilled ? ms_between(j.start, j.prefill_done) : 0.0,
                             prefilled ? ms_between(j.prefill_done, now) : 0.0});
}

// The job's next token from its logits row, with generate()'s stopping rules.
void batch_engine::sample(job& j, std::span<const float> logits, step_report& report) {
  (void)report;
  if (j.prefill_done == clock_type::time_point{}) j.prefill_done = clock_type::now();
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
  try {
    engine_.runner().forward(requests, logits_);
  } catch (const std::exception& e) {
    for (job* j : order) report.failed.push_back({j->id, e.what()});
    for (job* j : order) jobs_.erase(j->id.value);
    return report;
  }
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
