#include "engine/perplexity.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "engine/step_loop.hpp"

namespace alisa::engine {
namespace {

using clock_type = std::chrono::steady_clock;

// Called with the logits of one (chunk, position) pair: the prediction for position + 1.
using row_callback = std::function<void(size_t chunk, int position, const float* logits)>;

// Feeds `chunks` through the step loop together, one token per chunk per step, for positions
// 0 .. steps-1: each chunk is a score-only job whose prompt runs one row per step, so every
// position is a single-row step with a fresh sequence's KV and selection, exactly as a decode
// fed the true tokens would see it. Only positions for which wants_row(p) holds are reported.
// Throws std::runtime_error when a chunk's job fails or is lost.
void decode_chunks(local_engine& engine, std::span<const std::vector<int32_t>> chunks, int steps,
                   const std::function<bool(int)>& wants_row, const row_callback& on_row) {
  step_loop loop(engine);
  for (size_t c = 0; c < chunks.size(); ++c) {
    submit_job job;
    job.id = request_id{c + 1};
    job.prompt_ids.assign(chunks[c].begin(), chunks[c].begin() + steps);
    job_extras extras;
    extras.prompt_rows_per_step = 1;
    extras.score_only = true;
    extras.on_prompt_logits = [&, c](int p, std::span<const float> logits) {
      if (wants_row(p)) on_row(c, p, logits.data());
    };
    if (auto bad = loop.add(job, std::move(extras))) throw std::invalid_argument(*bad);
  }
  while (!loop.empty()) {
    const step_report report = loop.step();
    for (const auto* ended : {&report.failed, &report.lost})
      if (!ended->empty()) throw std::runtime_error(ended->front().reason);
  }
}

absl::Status check_options(const perplexity_options& o, int model_context) {
  if (o.context < 4 || o.context > model_context)
    return absl::InvalidArgumentError(absl::StrCat(
        "ctx ", o.context, " is out of range: a chunk needs at least 4 tokens and at most the "
        "model's context of ", model_context));
  if (o.max_chunks < 0)
    return absl::InvalidArgumentError(absl::StrCat("chunks must be >= 0 (0 = all); got ", o.max_chunks));
  if (o.batch < 1)
    return absl::InvalidArgumentError(absl::StrCat("batch must be >= 1; got ", o.batch));
  return absl::OkStatus();
}

// llama-perplexity's chunking: consecutive windows of ctx tokens, the first of each replaced by BOS.
std::vector<std::vector<int32_t>> cut_chunks(const std::vector<int>& tokens, int ctx, int count,
                                             int bos) {
  std::vector<std::vector<int32_t>> chunks(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    const auto first = tokens.begin() + static_cast<ptrdiff_t>(i) * ctx;
    chunks[i].assign(first, first + ctx);
    chunks[i][0] = bos;
  }
  return chunks;
}

// Running sums of NLL and NLL², as llama.cpp keeps them.
struct nll_sums {
  double nll = 0.0;
  double nll2 = 0.0;
  int64_t count = 0;
  void add(double v) {
    nll += v;
    nll2 += v * v;
    ++count;
  }
};

void finish(const nll_sums& s, perplexity_result& r) {
  r.num_tokens_scored = s.count;
  r.mean_nll = s.nll / static_cast<double>(s.count);
  r.ppl = std::exp(r.mean_nll);
  // Variance of the mean NLL; rounding can make it a hair negative when every NLL is equal.
  const double variance = s.nll2 / static_cast<double>(s.count) - r.mean_nll * r.mean_nll;
  r.stderr_ppl = (s.count > 1 && variance > 0.0)
                     ? r.ppl * std::sqrt(variance / static_cast<double>(s.count - 1))
                     : 0.0;
}

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

}  // namespace

double token_nll(const float* logits, int vocab_size, int target) {
  const float max_logit = *std::max_element(logits, logits + vocab_size);
  double sum_exp = 0.0;
  for (int i = 0; i < vocab_size; ++i) sum_exp += std::exp(double(logits[i]) - double(max_logit));
  return std::log(sum_exp) - (double(logits[target]) - double(max_logit));
}

absl::StatusOr<perplexity_result> evaluate_perplexity(local_engine& engine, const std::string& text,
                                                      const perplexity_options& options) {
  const auto start = clock_type::now();
  const int ctx = options.context;
  if (auto s = check_options(options, engine.config().max_position_embeddings); !s.ok()) return s;
  const std::vector<int> tokens = engine.tokenizer().encode(text, /*add_bos=*/true);
  const int64_t n_tokens = static_cast<int64_t>(tokens.size());
  if (n_tokens < 2 * static_cast<int64_t>(ctx))
    return absl::InvalidArgumentError(absl::StrCat(
        "the text is ", n_tokens, " tokens but perplexity at ctx ", ctx, " needs at least ",
        2 * static_cast<int64_t>(ctx), " (two chunks); use a longer text or a smaller ctx"));
  int64_t n_chunks = n_tokens / ctx;
  if (options.max_chunks > 0) n_chunks = std::min<int64_t>(n_chunks, options.max_chunks);
  const int bos = engine.tokenizer().bos_id() >= 0 ? engine.tokenizer().bos_id()
                                                   : engine.config().bos_token_id;
  const auto chunks = cut_chunks(tokens, ctx, static_cast<int>(n_chunks), bos);

  // Positions first .. ctx-2 predict tokens first+1 .. ctx-1; position ctx-1 predicts nothing
  // inside the chunk, so it is never fed.
  const int first = ctx / 2;
  nll_sums sums;
  engine.runner().reset_counters();
  try {
    for (size_t begin = 0; begin < chunks.size(); begin += static_cast<size_t>(options.batch)) {
      const size_t count = std::min(chunks.size() - begin, static_cast<size_t>(options.batch));
      const std::span<const std::vector<int32_t>> group(chunks.data() + begin, count);
      decode_chunks(
          engine, group, ctx - 1, [first](int p) { return p >= first; },
          [&](size_t c, int p, const float* logits) {
            sums.add(token_nll(logits, engine.runner().config().vocab_size, group[c][p + 1]));
          });
    }
  } catch (const std::exception& e) {  // the runner's precondition checks
    return absl::InternalError(absl::StrCat("perplexity evaluation failed: ", e.what()));
  }

  perplexity_result r;
  finish(sums, r);
  r.num_chunks = static_cast<int>(n_chunks);
  r.num_text_tokens = n_tokens;
  r.kv_tokens_attended_per_step = engine.runner().counters().mean_tokens_attended();
  r.seconds = seconds_since(start);
  return r;
}

std::vector<float> teacher_forced_logits(local_engine& engine, const std::vector<int32_t>& chunk) {
  const size_t vocab = static_cast<size_t>(engine.runner().config().vocab_size);
  const int ctx = static_cast<int>(chunk.size());
  std::vector<float> out(static_cast<size_t>(ctx) * vocab);
  decode_chunks(
      engine, {&chunk, 1}, ctx, [](int) { return true; },
      [&](size_t, int p, const float* logits) {
        std::copy(logits, logits + vocab, out.begin() + static_cast<ptrdiff_t>(p * vocab));
      });
  return out;
}

}  // namespace alisa::engine
