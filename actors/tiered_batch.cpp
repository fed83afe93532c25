#include "actors/tiered_batch.hpp"

#include <chrono>
#include <stdexcept>
#include <string>

#include "actors/decode_benchmark.hpp"
#include "actors/tiered_sequence.hpp"
#include "gpu/sampler.hpp"
#include "scheduler/paged_admission.hpp"

namespace alisa::actors {
namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

struct batch_sequence {
  uint64_t id = 0;  // admission-order id for the paged admission (index + 1)
  std::vector<int32_t> tokens;  // prompt, then generated tokens
  int prompt_len = 0;
  int generated = 0;
  bool running = false;
  bool needs_prefill = true;  // next step feeds every token (first prefill or recompute)
  std::unique_ptr<tiered_sequence> kv;
  std::unique_ptr<gpu::attention_selection> selection;
};

class batch_loop {
 public:
  batch_loop(local_engine& engine, const decode_bench_options& o,
             const std::vector<std::vector<int32_t>>& prompts)
      : engine_(engine), o_(o) {
    for (size_t i = 0; i < prompts.size(); ++i) {
      batch_sequence s;
      s.id = i + 1;
      s.tokens = prompts[i];
      s.prompt_len = static_cast<int>(prompts[i].size());
      seqs_.push_back(std::move(s));
    }
    const auto* store = engine.tier_store();
    if (store->options().policy == scheduler::kv_policy::vllm)
      admission_.emplace(store->device_slots() / engine.config().num_layers);
  }

  tiered_batch_timing run() {
    tiered_batch_timing t;
    const auto start = clock_type::now();
    clock_type::time_point decode_start;
    int64_t decoded_after_first = 0;
    bool first = true;
    while (!finished()) {
      admit(t);
      const int prefill_tokens = step();
      if (first) {
        t.prompt_tokens_per_s = prefill_tokens / seconds_since(start);
        engine_.runner().reset_counters();
        decode_start = clock_type::now();
        first = false;
      } else {
        decoded_after_first += last_step_sampled_;
      }
    }
    const double total = seconds_since(start);
    t.throughput_tokens_per_s = double(o_.batch) * o_.gen_len / total;
    t.decode_tokens_per_s = decoded_after_first / std::max(seconds_since(decode_start), 1e-9);
    t.counters = engine_.runner().counters();
    return t;
  }

 private:
  bool finished() const {
    for (const auto& s : seqs_)
      if (s.generated < o_.gen_len) return false;
    return true;
  }

  // Which sequences run this step: all unfinished ones, or the paged admission's choice.
  void admit(tiered_batch_timing& t) {
    auto* store = engine_.tier_store();
    store->hold_replans(true);
    admit_held(t);
    store->hold_replans(false);
  }

  void admit_held(tiered_batch_timing& t) {
    if (!admission_) {
      for (auto& s : seqs_)
        if (s.generated < o_.gen_len && !s.running) start(s);
      return;
    }
    std::vector<scheduler::sequence_demand> running, waiting;
    for (const auto& s : seqs_) {
      if (s.generated >= o_.gen_len) continue;
      const scheduler::sequence_demand d{s.id, static_cast<int>(s.tokens.size()),
                                         s.prompt_len + o_.gen_len};
      (s.running ? running : waiting).push_back(d);
    }
    const auto decision = admission_->before_step(running, waiting);
    if (decision.cannot_fit)
      throw std::runtime_error("--device-kv-budget holds " +
                               std::to_string(admission_->total_blocks_per_layer()) +
                               " blocks per layer: too few for even one sequence of this job");
    for (uint64_t id : decision.preempt) preempt(seqs_[id - 1], t);
    for (uint64_t id : decision.resume) start(seqs_[id - 1]);
  }

  void start(batch_sequence& s) {
    s.kv = engine_.make_tiered_sequence(s.prompt_len + o_.gen_len);
    s.selection = engine_.make_selection();
    s.running = true;
    s.needs_prefill = true;
  }

  void preempt(batch_sequence& s, tiered_batch_timing& t) {
    s.kv.reset();  // frees its KV in every tier
    s.selection.reset();
    s.running = false;
    ++t.num_preemptions;
    t.tokens_reprefilled += static_cast<int64_t>(s.tokens.size());
  }

  // One forward step over the running sequences; returns the prompt tokens it processed.
  int step() {
    std::vector<gpu::forward_request> requests;
    std::vector<batch_sequence*> order;
    int prefill_tokens = 0;
    for (auto& s : seqs_) {
      if (!s.running) continue;
      std::span<const int32_t> tokens(s.tokens);
      if (!s.needs_prefill) tokens = tokens.subspan(tokens.size() - 1);
      else prefill_tokens += static_cast<int>(tokens.size());
      requests.push_back({nullptr, tokens, false, s.selection.get(), s.kv.get()});
      order.push_back(&s);
    }
    engine_.runner().forward(requests, logits_);
    const int vocab = engine_.config().vocab_size;
    last_step_sampled_ = 0;
    for (size_t i = 0; i < order.size(); ++i) {
      batch_sequence& s = *order[i];
      s.needs_prefill = false;
      s.tokens.push_back(gpu::argmax({logits_.data() + i * vocab, static_cast<size_t>(vocab)}));
      ++s.generated;
      ++last_step_sampled_;
      if (s.generated >= o_.gen_len) {  // done: free its KV now
        s.kv.reset();
        s.selection.reset();
        s.running = false;
      }
    }
    return prefill_tokens;
  }

  local_engine& engine_;
  const decode_bench_options& o_;
  std::vector<batch_sequence> seqs_;
  std::optional<scheduler::paged_admission> admission_;
  std::vector<float> logits_;
  int last_step_sampled_ = 0;
};

}  // namespace

tiered_batch_timing run_tiered_batch(local_engine& engine, const decode_bench_options& options,
                                     const std::vector<std::vector<int32_t>>& prompts) {
  return batch_loop(engine, options, prompts).run();
}

}  // namespace alisa::actors
