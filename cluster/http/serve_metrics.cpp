#include "cluster/http/serve_metrics.hpp"

#include "engine/prefix_cache_types.hpp"

#include <string_view>

namespace alisa::cluster {
namespace {

// vLLM's bucket bounds (seconds), so dashboards built for it read alisa's the same way.
std::vector<double> ttft_buckets() {
  return {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5,
          0.75,  1.0,   2.5,  5.0,  7.5,  10.0, 20.0, 40.0, 80.0};
}
std::vector<double> itl_buckets() {
  return {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0};
}
std::vector<double> e2e_buckets() {
  return {0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0,
          120.0, 240.0, 480.0, 960.0};
}

std::string with(const std::string& base, const std::string& extra) {
  return base.empty() ? extra : base + "," + extra;
}

}  // namespace

serve_metrics::serve_metrics(std::string model_name)
    : model_name_(std::move(model_name)),
      ttft_(ttft_buckets()),
      itl_(itl_buckets()),
      e2e_(e2e_buckets()) {}

std::string serve_metrics::labels() const {
  return "model_name=\"" + escape_label(model_name_) + "\"";
}

void serve_metrics::request_finished(const std::string& reason, int prompt_tokens,
                                     int generation_tokens, double e2e_s) {
  {
    std::lock_guard lock(mutex_);
    ++finished_[reason];
    prompt_tokens_ += static_cast<uint64_t>(prompt_tokens);
    generation_tokens_ += static_cast<uint64_t>(generation_tokens);
  }
  e2e_.observe(e2e_s);
}

void serve_metrics::http_response(int status) {
  std::lock_guard lock(mutex_);
  ++responses_[status];
}

void serve_metrics::render_requests(std::string& out) const {
  const std::string l = labels();
  append_family(out, "alisa:num_requests_running", "gauge",
                "Requests producing tokens (prefill or decode).",
                sample_line("alisa:num_requests_running", l, static_cast<double>(running_.load())));
  append_family(out, "alisa:num_requests_waiting", "gauge",
                "Requests accepted that have not produced a token yet.",
                sample_line("alisa:num_requests_waiting", l, static_cast<double>(waiting_.load())));
  std::lock_guard lock(mutex_);
  std::string finished;
  for (const char* reason : {"stop", "length", "abort", "error", "rejected"}) {
    auto it = finished_.find(reason);
    finished += sample_line("alisa:request_success_total",
                            with(l, std::string("finished_reason=\"") + reason + "\""),
                            it == finished_.end() ? 0.0 : static_cast<double>(it->second));
  }
  append_family(out, "alisa:request_success_total", "counter",
                "Requests ended, by finish reason.", finished);
  std::string statuses;
  for (const auto& [status, n] : responses_)
    statuses += sample_line("alisa:http_responses_total",
                            with(l, "status=\"" + std::to_string(status) + "\""),
                            static_cast<double>(n));
  append_family(out, "alisa:http_responses_total", "counter", "HTTP responses, by status.",
                statuses);
  append_family(out, "alisa:prompt_tokens_total", "counter", "Prompt tokens processed.",
                sample_line("alisa:prompt_tokens_total", l, static_cast<double>(prompt_tokens_)));
  append_family(out, "alisa:generation_tokens_total", "counter", "Tokens generated.",
                sample_line("alisa:generation_tokens_total", l,
                            static_cast<double>(generation_tokens_)));
}

void serve_metrics::render_runtime(std::string& out, const runtime_metrics& m) const {
  const std::string l = labels();
  auto gauge = [&](const char* name, const char* help, double v) {
    append_family(out, name, "gauge", help, sample_line(name, l, v));
  };
  auto counter = [&](const char* name, const char* help, double v) {
    append_family(out, name, "counter", help, sample_line(name, l, v));
  };
  // One sample per prefix-cache tier (engine::prefix_tier order), 0 where a worker reported none.
  auto per_prefix_tier = [&](const char* name, const char* type, const char* help,
                             const std::vector<uint64_t>& values) {
    std::string body;
    for (int t = 0; t < engine::num_prefix_tiers; ++t) {
      const double v = t < static_cast<int>(values.size()) ? static_cast<double>(values[size_t(t)]) : 0.0;
      body += sample_line(
          name, with(l, "tier=\"" + std::string(to_string(static_cast<engine::prefix_tier>(t))) + "\""), v);
    }
    append_family(out, name, type, help, body);
  };
  gauge("alisa:num_workers", "GPU workers alive.", m.workers);
  gauge("alisa:num_memory_nodes", "Memory-tier nodes alive.", m.memory_nodes);
  gauge("alisa:coordinator_jobs_queued", "Jobs waiting at the coordinator.", m.queued);
  gauge("alisa:coordinator_jobs_running", "Jobs placed on a worker.", m.running);
  counter("alisa:job_restarts_total", "Jobs restarted after a worker was lost.",
          static_cast<double>(m.restarts));
  gauge("alisa:memory_node_bytes", "KV and hidden-state bytes held on memory nodes.",
        static_cast<double>(m.memory_node_bytes));
  // Per tier: resident bytes (gauge) and the cumulative traffic (counters).
  struct family {
    const char* name;
    const char* type;
    const char* help;
    uint64_t tier_stats::*field;
  };
  const family families[] = {
      {"alisa:kv_bytes_resident", "gauge", "KV bytes held per tier now.",
       &tier_stats::bytes_resident},
      {"alisa:kv_bytes_read_total", "counter", "KV bytes read from each tier for attention.",
       &tier_stats::bytes_read},
      {"alisa:kv_bytes_written_total", "counter", "KV bytes written into each tier.",
       &tier_stats::bytes_written},
      {"alisa:kv_hits_total", "counter", "Block reads served by each tier.", &tier_stats::hits},
      {"alisa:kv_misses_total", "counter", "Block reads each tier could not serve.",
       &tier_stats::misses},
  };
  for (const auto& f : families) {
    std::string body;
    for (int t = 0; t < num_kv_tiers; ++t) {
      const double v = t < static_cast<int>(m.kv.tiers.size())
                           ? static_cast<double>(m.kv.tiers[static_cast<size_t>(t)].*(f.field))
                           : 0.0;
      body += sample_line(f.name,
                          with(l, "tier=\"" + std::string(to_string(static_cast<kv_tier>(t))) + "\""),
                          v);
    }
    append_family(out, f.name, f.type, f.help, body);
  }
  counter("alisa:kv_tokens_recomputed_total",
          "(token, layer) K/V rows recomputed from hidden states.",
          static_cast<double>(m.kv.tokens_recomputed));
  counter("alisa:num_preemptions_total", "Sequences preempted (freed, recomputed later).",
          static_cast<double>(m.kv.preemptions));
  per_prefix_tier("alisa:prefix_cache_hit_tokens_total", "counter",
                  "Prompt tokens replayed from the prefix cache instead of prefilled, by the tier "
                  "they were found in.",
                  m.kv.prefix_hit_tokens);
  per_prefix_tier("alisa:prefix_cache_bytes", "gauge",
                  "Bytes of prompt-prefix K/V the prefix cache holds, by tier (memory nodes' "
                  "shared tier: not known to workers, 0).",
                  m.kv.prefix_cache_bytes);
  std::string phases;
  for (int p = 0; p < 3; ++p)
    phases += sample_line(
        "alisa:kv_sequences", with(l, "phase=\"" + std::string(to_string(static_cast<kv_phase>(p + 1))) + "\""),
        p < static_cast<int>(m.kv.sequences_per_phase.size())
            ? static_cast<double>(m.kv.sequences_per_phase[static_cast<size_t>(p)])
            : 0.0);
  append_family(out, "alisa:kv_sequences", "gauge", "Running sequences per ALISA phase.", phases);
}

std::string serve_metrics::render(const std::optional<runtime_metrics>& runtime) const {
  std::string out;
  render_requests(out);
  const std::string l = labels();
  append_family(out, "alisa:time_to_first_token_seconds", "histogram",
                "Time from a request's arrival to its first token.",
                ttft_.render("alisa:time_to_first_token_seconds", l));
  append_family(out, "alisa:inter_token_latency_seconds", "histogram",
                "Time between successive output tokens of a request.",
                itl_.render("alisa:inter_token_latency_seconds", l));
  append_family(out, "alisa:e2e_request_latency_seconds", "histogram",
                "Time from a request's arrival to its last token.",
                e2e_.render("alisa:e2e_request_latency_seconds", l));
  if (runtime) render_runtime(out, *runtime);
  append_family(out, "alisa:runtime_reachable", "gauge",
                "1 when the coordinator answered this scrape.",
                sample_line("alisa:runtime_reachable", l, runtime ? 1.0 : 0.0));
  return out;
}

}  // namespace alisa::cluster
