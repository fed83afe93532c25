#include "engine/step_loop.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <new>

#include "absl/strings/str_cat.h"
#include "engine/heap_trim.hpp"
#include "engine/job_statistics.hpp"
#include "engine/policy_selection.hpp"
#include "engine/prefix_reuse.hpp"
#include "engine/tiered_sequence.hpp"
#include "gpu/logit_processing.hpp"
#include "gpu/sampler.hpp"
#include "gpu/text_stream.hpp"
#include "proto/byte_size.hpp"
#include "scheduler/paged_admission.hpp"

namespace alisa::engine {
namespace {

using clock_type = std::chrono::steady_clock;

// A step whose prompt chunk (several rows) reached this far into its prompt hands its freed
// transient buffers back (engine/heap_trim.hpp): they grow with the positions a chunk attends
// to (a tiered store gathers all of them), not with its rows. Decode steps and one-row prompt
// steps (teacher-forced scoring) never trim.
constexpr int64_t kTrimAfterPromptReach = 256;

double ms_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

struct step_loop::job {
  request_id id;
  std::vector<int32_t> tokens;  // prompt, then every sampled token
  int prompt_len = 0;
  int capacity = 0;             // positions its KV may hold: prompt + max_tokens, within context
  int fed = 0;                  // tokens whose KV is held (the request's length)
  bool running = false;
  sampling_params params;
  job_extras extras;
  gpu::sampler pick;
  std::string pending_text;  // streamed since the last report
  gpu::text_stream text;
  std::unique_ptr<gpu::dense_kv_cache> cache;
  std::unique_ptr<tiered_sequence> sequence;
  std::unique_ptr<gpu::attention_selection> selection;
  std::optional<scheduler::selection_options> attention;  // the job's own, else the engine's
  int cached_tokens = 0;                     // prompt positions replayed from the prefix cache
  std::unique_ptr<prefix_capture> capture;   // copies its prompt blocks for the prefix cache
  std::vector<int32_t> new_tokens;
  std::vector<token_logprob> new_logprobs;  // one per new token, when params.logprobs
  std::vector<float> processed, picked;     // logit rows after penalties / min_p (reused)
  int num_generated = 0;
  int previous = 0;
  std::optional<finish_reason> stop_reason;  // eos or a stop string was sampled
  clock_type::time_point start = clock_type::now(), prefill_done;
  decode_totals decode;

  job(const submit_job& s, job_extras e, int context)
      : id(s.id),
        tokens(s.prompt_ids),
        prompt_len(static_cast<int>(s.prompt_ids.size())),
        capacity(std::min(context, prompt_len + (e.score_only ? 0 : s.sampling.max_tokens))),
        params(s.sampling),
        extras(std::move(e)),
        pick(s.sampling),
        text(s.sampling, [this](std::string_view piece) { pending_text.append(piece); }),
        previous(s.prompt_ids.back()) {}

  gpu::kv_source* kv() const { return sequence.get(); }
  int length() const { return fed; }
  // Its prompt has run and a token was sampled from it: every further step is a decode step.
  bool prefilled() const { return prefill_done != clock_type::time_point{}; }
  // Rows still to feed before the next sample (1 when decoding).
  int pending_rows() const { return static_cast<int>(tokens.size()) - fed; }

  job_finished summary(finish_reason reason) const {
    job_finished f;
    f.id = id;
    f.finish_reason = std::string(to_string(reason));
    f.num_prompt_tokens = prompt_len;
    f.num_generated_tokens = num_generated;
    f.cached_tokens = cached_tokens;
    if (prefilled()) {
      f.prefill_ms = ms_between(start, prefill_done);
      f.decode_ms = ms_between(prefill_done, clock_type::now());
    }
    decode.report(f);
    return f;
  }
};

step_loop::step_loop(local_engine& engine)
    : step_loop(engine, engine.options().max_prefill_tokens) {}
step_loop::step_loop(local_engine& engine, int max_prefill_tokens)
    : engine_(engine), max_prefill_tokens_(max_prefill_tokens), cost_(engine.config()) {}
step_loop::~step_loop() = default;

std::optional<std::string> step_loop::add(const submit_job& s, job_extras extras) {
  if (jobs_.count(s.id.value)) return absl::StrCat("request ", s.id.value, " is already running");
  if (s.prompt_ids.empty()) return std::string("empty prompt");
  if (!extras.score_only)
    if (auto bad = validate(s.sampling)) return bad;
  const int context = engine_.config().max_position_embeddings;
  const int prompt = static_cast<int>(s.prompt_ids.size());
  if (prompt > context || (prompt == context && !extras.score_only))
    return absl::StrCat("prompt is ", s.prompt_ids.size(), " tokens but the model's context is ",
                        context);
  for (int32_t t : s.prompt_ids)
    if (t < 0 || t >= engine_.config().vocab_size)
      return absl::StrCat("token id ", t, " is outside the vocabulary");
  if (extras.prompt_rows_per_step < 0)
    return absl::StrCat("prompt_rows_per_step must be >= 0; got ", extras.prompt_rows_per_step);
  auto attention = job_attention(s);
  if (!attention.ok()) return std::string(attention.status().message());
  auto j = std::make_unique<job>(s, std::move(extras), context);
  j->attention = *attention;
  jobs_[s.id.value] = std::move(j);
  waiting_.push_back(s.id.value);
  return std::nullopt;
}

// The job's own attention options (its policy and sparsity over the engine's other settings), or
// nullopt for the engine's. The engine's KV placement constrains them: the flexgen and vllm
// policies re-implement dense-attention systems.
absl::StatusOr<std::optional<scheduler::selection_options>> step_loop::job_attention(
    const submit_job& s) const {
  if (s.attention.empty() && s.kv_sparsity < 0) return std::nullopt;
  scheduler::selection_options o = engine_.options().attention;
  if (!s.attention.empty()) {
    auto policy = scheduler::parse_attention_policy(s.attention);
    if (!policy)
      return absl::InvalidArgumentError(absl::StrCat("attention must be one of ",
                                                     scheduler::attention_policy_names(),
                                                     "; got '", s.attention, "'"));
    o.policy = *policy;
  }
  if (s.kv_sparsity >= 0) o.sparsity = s.kv_sparsity;
  if (auto bad = o.validate()) return absl::InvalidArgumentError(*bad);
  const auto* store = engine_.tier_store();
  if (store && store->options().policy != scheduler::kv_policy::alisa &&
      o.policy != scheduler::attention_policy::dense)
    return absl::InvalidArgumentError(absl::StrCat(
        "this server's KV policy ", std::string(scheduler::to_string(store->options().policy)),
        " re-implements a dense-attention system: attention must be dense"));
  return std::optional<scheduler::selection_options>(o);
}

void step_loop::cancel(request_id id) {
  std::erase(waiting_, id.value);
  jobs_.erase(id.value);
}

void step_loop::fail(job& j, const std::string& reason, step_report& report) {
  report.failed.push_back({j.id, reason});
  std::erase(waiting_, j.id.value);
  jobs_.erase(j.id.value);
}

// Allocates the job's KV holder and selection. False (and the job failed) when memory runs out.
bool step_loop::start(job& j, step_report& report) {
  try {
    j.selection = j.attention ? make_policy_selection(*j.attention, engine_.config().num_layers,
                                                      engine_.config().num_kv_heads)
                              : engine_.make_selection();
    if (engine_.tier_store())
      j.sequence = engine_.make_tiered_sequence(j.capacity, j.capacity);
    else
      j.cache = engine_.runner().make_cache(j.capacity);
  } catch (const std::bad_alloc&) {
    fail(j, absl::StrCat("out of memory allocating the KV of ", j.capacity,
                         " positions; lower max_tokens or give a --device-kv-budget with "
                         "host/NVMe tiers"),
         report);
    return false;
  } catch (const std::exception& e) {
    fail(j, absl::StrCat("cannot allocate the job's KV: ", e.what()), report);
    return false;
  }
  j.running = true;
  j.fed = 0;
  std::erase(waiting_, j.id.value);
  try {
    reuse_prefix(j);
  } catch (const std::exception& e) {
    fail(j, absl::StrCat("cannot replay the cached prompt prefix: ", e.what()), report);
    return false;
  }
  return true;
}

// Prompt rows a cold prefill computes dense and unobserved (the rows before the job's scored
// tail; at least the last row runs, for its logits): what the prefix cache may hold and replay
// without changing the job's output. 0 for jobs that need every prompt row's logits.
int step_loop::reusable_prompt_rows(const job& j) const {
  if (j.extras.score_only || j.extras.on_prompt_logits || j.extras.prompt_rows_per_step > 0) return 0;
  const int tail = j.selection ? std::max(2, j.selection->prefill_tail_rows(j.prompt_len)) : 1;
  return std::max(0, j.prompt_len - tail);
}

// A starting job: replays the longest cached prefix of its prompt into its KV (it then prefills
// only the rest), and captures the blocks the cache lacks for the jobs after it.
void step_loop::reuse_prefix(job& j) {
  j.cached_tokens = 0;
  j.capture.reset();
  prefix_cache* cache = engine_.prefixes();
  const int blocks = cache ? reusable_prompt_rows(j) / kv_block_tokens : 0;
  if (blocks == 0) return;
  const std::span<const int32_t> prompt(j.tokens.data(), static_cast<size_t>(j.prompt_len));
  const auto found = cache->lookup(prompt, blocks);
  if (!found.empty()) {
    replay_prefix(found, cache->shape(), engine_.backend(), j.cache.get(), j.kv());
    j.fed = static_cast<int>(found.size()) * kv_block_tokens;
    j.cached_tokens = j.fed;
  }
  if (static_cast<int>(found.size()) < blocks) {
    auto capture = std::make_unique<prefix_capture>(*cache, engine_.backend(), prompt, blocks);
    if (!capture->empty()) j.capture = std::move(capture);
  }
}

// Frees a running job's KV; it waits at the head of the queue and is recomputed when resumed.
void step_loop::preempt(job& j) {
  j.sequence.reset();
  j.cache.reset();
  j.selection.reset();
  j.running = false;
  j.fed = 0;
  waiting_.push_front(j.id.value);
  ++stats_.preempted;
  ++preemptions_total_;
}

worker_kv_metrics step_loop::kv_metrics() const {
  worker_kv_metrics m;
  m.preemptions = preemptions_total_;
  if (const prefix_cache* prefixes = engine_.prefixes()) {
    const auto& hits = prefixes->stats().hit_tokens_by_tier;
    m.prefix_hit_tokens.assign(hits.begin(), hits.end());
    m.prefix_cache_bytes.assign(num_prefix_tiers, 0);
    m.prefix_cache_bytes[static_cast<size_t>(prefix_tier::host)] = prefixes->stats().bytes;
    for (const auto& level : prefixes->levels())
      m.prefix_cache_bytes[static_cast<size_t>(level->tier())] += level->bytes();
  }
  const auto* store = engine_.tier_store();
  if (!store) return m;
  const tier_report& r = store->report();
  m.tiers.assign(r.tiers.begin(), r.tiers.end());
  m.tokens_recomputed = r.tokens_recomputed;
  m.sequences_per_phase.assign(3, 0);
  for (const auto& [id, j] : jobs_)
    if (j->running && j->sequence)
      ++m.sequences_per_phase[static_cast<size_t>(j->sequence->phase()) - 1];
  return m;
}

// Device pool slots a running job holds while it runs (tiered engines; see admit_fixed).
int step_loop::device_slots_needed(const job& j) const {
  const auto* store = engine_.tier_store();
  const int layers = engine_.config().num_layers;
  if (store->has_lower_tier()) return layers;  // its open block per layer; full ones may leave
  return layers * scheduler::paged_admission::blocks_for(j.capacity);
}

void step_loop::admit(step_report& report) {
  auto* store = engine_.tier_store();
  if (!store) {
    while (!waiting_.empty()) start(*jobs_.at(waiting_.front()), report);
    return;
  }
  // The planner sees the whole batch's change at once.
  store->hold_replans(true);
  if (store->options().policy == scheduler::kv_policy::vllm)
    admit_paged(report);
  else
    admit_fixed(report);
  store->hold_replans(false);
}

// A job's working set does not grow (its full blocks may leave the device, or it holds every
// block of its capacity from the start): admit first come first served while the sum fits.
void step_loop::admit_fixed(step_report& report) {
  const int slots = engine_.tier_store()->device_slots();
  int used = 0;
  for (const auto& [id, j] : jobs_)
    if (j->running) used += device_slots_needed(*j);
  while (!waiting_.empty()) {
    job& j = *jobs_.at(waiting_.front());
    const int need = device_slots_needed(j);
    if (used + need <= slots) {
      if (start(j, report)) used += need;
      continue;
    }
    if (used > 0) return;  // waits for running jobs to end
    fail(j, absl::StrCat("--device-kv-budget ",
                         format_byte_size(engine_.options().tiers.device_budget), " holds ", slots,
                         " KV blocks; this job needs ", need, " (", engine_.config().num_layers,
                         " layers x ", need / engine_.config().num_layers, " blocks of ",
                         kv_block_tokens, " tokens) with no host/NVMe tier to move them to"),
         report);
  }
}

// --policy vllm: every block stays on the device, so a job's working set grows with it; the
// paged admission preempts the latest admitted before a step when the pool is short.
void step_loop::admit_paged(step_report& report) {
  const int blocks = engine_.tier_store()->device_slots() / engine_.config().num_layers;
  const scheduler::paged_admission admission(blocks);
  std::vector<scheduler::sequence_demand> running, waiting;
  for (const auto& [id, j] : jobs_)
    if (j->running) running.push_back({id, static_cast<int>(j->tokens.size()), j->capacity});
  for (uint64_t id : waiting_) {
    const job& j = *jobs_.at(id);
    waiting.push_back({id, static_cast<int>(j.tokens.size()), j.capacity});
  }
  const auto decision = admission.before_step(running, waiting);
  if (decision.cannot_fit) {
    const uint64_t victim = running.size() == 1 ? running[0].sequence : waiting.front().sequence;
    fail(*jobs_.at(victim),
         absl::StrCat("--device-kv-budget ",
                      format_byte_size(engine_.options().tiers.device_budget), " holds ", blocks,
                      " blocks per layer: too few for this job's ",
                      jobs_.at(victim)->tokens.size(), " tokens under --policy vllm"),
         report);
    return;
  }
  // Latest admitted first, each pushed to the queue's front: the earliest ends up first.
  for (uint64_t id : decision.preempt) preempt(*jobs_.at(id));
  for (uint64_t id : decision.resume) {
    job& j = *jobs_.at(id);
    if (j.prefilled()) stats_.rows_recomputed += static_cast<int64_t>(j.tokens.size()) - 1;
    start(j, report);
  }
}

void step_loop::finish(job& j, finish_reason reason, step_report& report) {
  j.text.finish();
  if (!j.pending_text.empty() || !j.new_tokens.empty()) report.chunks.push_back(take_chunk(j));
  report.finished.push_back(j.summary(reason));
}

// Jobs that cannot take another token: max_tokens reached, or no room left in their capacity.
void step_loop::end_finished_jobs(step_report& report) {
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    job& j = *it->second;
    std::optional<finish_reason> reason;
    if (!j.extras.score_only && j.num_generated >= j.params.max_tokens)
      reason = finish_reason::length;
    else if (j.running && j.pending_rows() > 0 && j.fed + 1 > j.capacity)
      reason = finish_reason::context_full;
    if (!reason) {
      ++it;
      continue;
    }
    finish(j, *reason, report);
    std::erase(waiting_, j.id.value);
    it = jobs_.erase(it);
  }
}

// Each running job's rows for this step: its next token when decoding, else the next chunk of its
// prompt (or of its tokens, when resumed after preemption) within the step's prefill budget.
void step_loop::plan_rows(std::vector<job*>& order, std::vector<gpu::forward_request>& requests) {
  // The budget is in token-equivalents (prefill_cost): rows deep in a long prompt cost more.
  double prefill_left = max_prefill_tokens_ > 0 ? max_prefill_tokens_
                                                : std::numeric_limits<double>::infinity();
  bool first_chunk = true;
  for (auto& [id, jp] : jobs_) {
    job& j = *jp;
    if (!j.running) continue;
    const bool prompt_step = j.pending_rows() > 1 || !j.prefilled();
    const int rows = prompt_step ? prompt_chunk(j, prefill_left, first_chunk) : 1;
    if (rows <= 0) continue;  // the budget is spent: it prefills in a later step
    (prompt_step ? stats_.prompt_rows : stats_.decode_rows) += rows;
    if (prompt_step) {
      prefill_left -= cost_.of_rows(j.fed, rows);
      first_chunk = false;
      if (rows > 1) stats_.prompt_reach = std::max<int64_t>(stats_.prompt_reach, j.fed + rows);
    }
    const bool final_rows = j.fed + rows == static_cast<int>(j.tokens.size());
    const bool teacher_forced = j.extras.prompt_rows_per_step == 1;
    // A chunked prompt's earlier chunks run without the selection (dense, unobserved); it sees
    // the final chunk, told first how many positions precede it (token_selector's contract).
    gpu::attention_selection* selection = final_rows || teacher_forced ? j.selection.get() : nullptr;
    if (selection && prompt_step && !teacher_forced && j.fed > 0) selection->begin_prefill_tail(j.fed);
    const std::span<const int32_t> feed(j.tokens.data() + j.fed, static_cast<size_t>(rows));
    const bool all_logits = static_cast<bool>(j.extras.on_prompt_logits) && !j.prefilled();
    requests.push_back({j.cache.get(), feed, all_logits, selection, j.kv(),
                        prompt_step ? j.capture.get() : nullptr});
    order.push_back(&j);
  }
}

// Prompt rows job `j` feeds this step: what is left of its prompt, within `left` (the step's
// budget still free, in token-equivalents) and its own cap. When it must be cut, the final chunk
// keeps the rows its selection needs together (at least two, so it stays a dense prefill step,
// not a decode step); the step's first chunk always gets at least one row (a row deep in a long
// prompt may cost more than the whole budget) and a final chunk larger than the whole budget
// runs alone in a step (`first`) rather than never.
int step_loop::prompt_chunk(const job& j, double left, bool first) const {
  const int pending = j.pending_rows();
  int cap = j.capacity - j.fed;
  if (j.extras.prompt_rows_per_step > 0) cap = std::min(cap, j.extras.prompt_rows_per_step);
  int limit = cost_.rows_within(j.fed, cap, left);
  if (first && cap > 0) limit = std::max(limit, 1);
  if (pending <= limit) return pending;
  if (j.extras.prompt_rows_per_step == 1) return limit;  // teacher-forced: row by row
  int tail = 0;
  if (j.selection) tail = std::max(2, j.selection->prefill_tail_rows(static_cast<int>(j.tokens.size())));
  const int rows = std::min(limit, pending - std::min(tail, pending));
  if (rows > 0) return rows;
  return first && j.fed + pending <= j.capacity ? pending : 0;
}

step_report step_loop::step() {
  step_report report;
  stats_ = {};
  end_finished_jobs(report);
  admit(report);
  std::vector<gpu::forward_request> requests;
  std::vector<job*> order;
  plan_rows(order, requests);
  if (requests.empty()) return report;
  const gpu::attention_counters before = engine_.runner().counters();
  try {
    engine_.runner().forward(requests, logits_);
  } catch (const std::exception& e) {
    for (job* j : order) report.lost.push_back({j->id, e.what()});
    for (job* j : order) {
      std::erase(waiting_, j->id.value);
      jobs_.erase(j->id.value);
    }
    return report;
  }
  attribute(before, order, requests);
  after_forward(order, requests, report);
  if (stats_.prompt_reach >= kTrimAfterPromptReach) return_freed_heap();
  return report;
}

// Hands prompt logits to their observers, samples the jobs whose rows are all fed, and queues
// their new text for the report.
void step_loop::after_forward(std::span<job* const> order,
                              std::span<const gpu::forward_request> requests,
                              step_report& report) {
  const size_t vocab = static_cast<size_t>(engine_.config().vocab_size);
  size_t row = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    job& j = *order[i];
    const int rows = static_cast<int>(requests[i].tokens.size());
    const size_t out_rows = requests[i].all_logits ? static_cast<size_t>(rows) : 1;
    if (requests[i].all_logits)
      for (int r = 0; r < rows; ++r)
        j.extras.on_prompt_logits(j.fed + r, {logits_.data() + (row + r) * vocab, vocab});
    j.fed += rows;
    if (j.capture && j.fed >= j.capture->end_position()) {
      j.capture->publish();
      j.capture.reset();
    }
    const std::span<const float> last(logits_.data() + (row + out_rows - 1) * vocab, vocab);
    row += out_rows;
    if (j.pending_rows() > 0) {
      // A prompt prefilled over several steps: its progress, for clients that show it.
      if (!j.prefilled() && !j.extras.score_only)
        report.chunks.push_back(token_chunk{j.id, {}, {}, {}, j.fed});
      continue;
    }
    std::optional<finish_reason> ended;
    if (j.extras.score_only) {
      ended = finish_reason::length;
    } else {
      // NaN or inf logits (an overflow in the activations, or weights no check caught) would
      // sample garbage or an immediate EOS: the job fails instead, naming where.
      if (!std::all_of(last.begin(), last.end(), [](float x) { return std::isfinite(x); })) {
        fail(j, absl::StrCat("the model produced non-finite logits at position ", j.fed - 1,
                             " (generated token ", j.num_generated + 1,
                             "): its weights or activations overflowed; nothing was sampled"),
             report);
        continue;
      }
      sample(j, last);
      ++stats_.sampled;
      ended = j.stop_reason;
      if (!ended && j.num_generated >= j.params.max_tokens) ended = finish_reason::length;
    }
    if (ended) {
      finish(j, *ended, report);
      jobs_.erase(j.id.value);
    } else if (!j.pending_text.empty() || !j.new_tokens.empty()) {
      report.chunks.push_back(take_chunk(j));
    }
  }
}

void step_loop::attribute(const gpu::attention_counters& before, std::span<job* const> order,
                          std::span<const gpu::forward_request> requests) {
  double rows = 0, single_rows = 0;
  for (const auto& r : requests) {
    rows += static_cast<double>(r.tokens.size());
    if (r.tokens.size() == 1) single_rows += 1;
  }
  const counter_delta d = difference(engine_.runner().counters(), before);
  for (size_t i = 0; i < order.size(); ++i) {
    // A job's prompt steps are not decode, even a one-token prompt's single row.
    if (!order[i]->prefilled()) continue;
    const double n = static_cast<double>(requests[i].tokens.size());
    order[i]->decode.add(d, n == 1 ? 1.0 / single_rows : 0.0, n / rows);
  }
}

// The job's new tokens, text and logprobs since the last chunk (and clears them).
token_chunk step_loop::take_chunk(job& j) {
  token_chunk c{j.id, std::move(j.new_tokens), std::move(j.pending_text),
                std::move(j.new_logprobs)};
  j.new_tokens.clear();
  j.pending_text.clear();
  j.new_logprobs.clear();
  return c;
}

// The row the pick sees: the model's logits, or (penalties, min_p) a processed copy. `scored`
// is the row logprobs are reported under (after penalties, before min_p).
std::span<const float> step_loop::processed_logits(job& j, std::span<const float> logits,
                                                   std::span<const float>& scored) {
  scored = logits;
  if (!processes_logits(j.params)) return logits;
  j.processed.assign(logits.begin(), logits.end());
  const std::span<const int32_t> all(j.tokens);
  gpu::apply_penalties(j.processed, j.params, all.first(static_cast<size_t>(j.prompt_len)),
                       all.subspan(static_cast<size_t>(j.prompt_len)));
  scored = j.processed;
  if (j.params.min_p <= 0.0f || j.params.temperature == 0.0f) return j.processed;
  j.picked = j.processed;
  gpu::apply_min_p(j.picked, j.params);
  return j.picked;
}

// The job's next token from its logits row; eos and stop strings end it at the next step.
void step_loop::sample(job& j, std::span<const float> logits) {
  if (!j.prefilled()) j.prefill_done = clock_type::now();
  std::span<const float> scored;
  const int next = j.pick.sample(processed_logits(j, logits, scored));
  const auto& tok = engine_.tokenizer();
  const int eos = tok.eos_id() >= 0 ? tok.eos_id() : engine_.config().eos_token_id;
  if (next == eos && !j.params.ignore_eos) {
    j.stop_reason = finish_reason::eos;
    return;
  }
  if (j.params.logprobs) {
    token_logprob lp = gpu::log_probabilities(scored, next, j.params.top_logprobs);
    lp.text = tok.token_bytes(j.previous, next);
    for (int32_t id : lp.top_ids) lp.top_texts.push_back(tok.token_bytes(j.previous, id));
    j.new_logprobs.push_back(std::move(lp));
  }
  ++j.num_generated;
  j.new_tokens.push_back(next);
  j.tokens.push_back(next);
  if (j.text.add(tok.token_bytes(j.previous, next))) j.stop_reason = finish_reason::stop_string;
  j.previous = next;
}

}  // namespace alisa::engine
