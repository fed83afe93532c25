#pragma once
// serve_metrics — what `GET /metrics` reports, in Prometheus text format with vLLM's metric
// names under the `alisa:` prefix: the front end's request counters and latency histograms,
// plus the runtime's figures (membership, queue, every worker's KV tiers) that the coordinator
// reports when asked. Thread-safe.
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "cluster/http/prometheus_text.hpp"
#include "proto/messages.hpp"

namespace alisa::cluster {

class serve_metrics {
 public:
  explicit serve_metrics(std::string model_name);

  // A request's life: arrives (waiting) → starts producing tokens (running) → ends.
  void request_waiting(int delta) { waiting_ += delta; }
  void request_running(int delta) { running_ += delta; }
  // finished_reason: stop | length | abort | error | rejected
  void request_finished(const std::string& finished_reason, int prompt_tokens,
                        int generation_tokens, double e2e_s);
  void time_to_first_token(double seconds) { ttft_.observe(seconds); }
  void inter_token_latency(double seconds) { itl_.observe(seconds); }
  void http_response(int status);

  // The exposition text; `runtime` adds the coordinator's figures when it answered.
  std::string render(const std::optional<runtime_metrics>& runtime) const;

 private:
  std::string labels() const;
  void render_requests(std::string& out) const;
  void render_runtime(std::string& out, const runtime_metrics& m) const;

  std::string model_name_;
  std::atomic<int64_t> waiting_{0}, running_{0};
  mutable std::mutex mutex_;
  std::map<std::string, uint64_t> finished_;  // by reason
  std::map<int, uint64_t> responses_;         // by HTTP status
  uint64_t prompt_tokens_ = 0, generation_tokens_ = 0;
  latency_histogram ttft_, itl_, e2e_;
};

}  // namespace alisa::cluster
