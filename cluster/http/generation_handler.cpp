#include "cluster/http/generation_handler.hpp"

#include "cluster/http/openai_response.hpp"
#include "cluster/http/openai_server.hpp"

namespace alisa::cluster {
namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

// What the coordinator's refusal or the job's failure means to an HTTP client.
api_error outcome_error(const actors::job_outcome& o) {
  if (o.retry_later) return make_api_error(429, o.error, "rate_limit_exceeded");
  if (o.rejected) return make_api_error(400, o.error, "invalid_request_error");
  return make_api_error(500, "the job failed: " + o.error, "server_error");
}

// One request's figures for /metrics: waiting until its first token, then running.
class request_tracker {
 public:
  explicit request_tracker(serve_metrics& m) : metrics_(m) { metrics_.request_waiting(1); }
  ~request_tracker() {
    if (running_) metrics_.request_running(-1);
    else metrics_.request_waiting(-1);
  }
  void on_tokens(size_t tokens) {
    if (tokens == 0) return;
    const auto now = clock_type::now();
    if (!running_) {
      running_ = true;
      metrics_.request_waiting(-1);
      metrics_.request_running(1);
      metrics_.time_to_first_token(std::chrono::duration<double>(now - start_).count());
    } else {
      const double gap = std::chrono::duration<double>(now - last_).count();
      for (size_t i = 0; i < tokens; ++i) metrics_.inter_token_latency(gap / double(tokens));
    }
    last_ = now;
  }
  void finish(const std::string& reason, int prompt_tokens, int generated) {
    metrics_.request_finished(reason, prompt_tokens, generated, seconds_since(start_));
  }
  void finish(const actors::job_outcome& o) {
    if (o.error.empty())
      finish(std::string(openai_finish_reason(o.finished.finish_reason)),
             o.finished.num_prompt_tokens, o.finished.num_generated_tokens);
    else
      finish(o.error == "cancelled" ? "abort" : o.rejected ? "rejected" : "error", 0,
             static_cast<int>(o.token_ids.size()));
  }

 private:
  serve_metrics& metrics_;
  clock_type::time_point start_ = clock_type::now(), last_ = start_;
  bool running_ = false;
};

usage_counts usage_of(const actors::job_outcome& o) {
  return {o.finished.num_prompt_tokens, o.finished.num_generated_tokens, o.finished.cached_tokens};
}

}  // namespace

// Holds one of the max_pending places while a generation request is in flight.
struct generation_handler::pending_slot {
  explicit pending_slot(std::atomic<int>& n) : count(n) {}
  ~pending_slot() { --count; }
  std::atomic<int>& count;
};

struct generation_handler::stream_job {
  generation_request request;
  submit_job job;
  std::string echo_text;
  std::unique_ptr<pending_slot> slot;
};

http_reply json_error_reply(const api_error& e) {
  http_reply r;
  r.status = e.status;
  r.body = error_json(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (e.status == 429) r.headers.emplace_back("Retry-After", "1");
  return r;
}

generation_handler::generation_handler(serve_backend& backend, serve_metrics& metrics,
                                       const serve_options& options)
    : backend_(backend), metrics_(metrics), options_(options) {
  limits_.served_model = options.model_name;
  limits_.context_length = backend.context_length();
}

generation_handler::~generation_handler() = default;

// The prompt as token ids when this process has the tokenizer (so the context check is exact
// here), else as text for the coordinator to encode.
std::optional<api_error> generation_handler::build_job(generation_request& r, submit_job& job,
                                                       std::string& echo_text) const {
  std::string text = r.endpoint == api_endpoint::chat_completions
                         ? render_chat(options_.chat, r.messages)
                         : r.prompt_text;
  const model::tokenizer* tok = backend_.tokenizer();
  if (!r.prompt_ids.empty()) {
    job.prompt_ids = r.prompt_ids;
    if (r.echo && tok) echo_text = tok->decode(std::vector<int>(r.prompt_ids.begin(), r.prompt_ids.end()));
  } else if (tok) {
    const auto ids = tok->encode(text, /*add_bos=*/true);
    job.prompt_ids.assign(ids.begin(), ids.end());
  }
  if (job.prompt_ids.empty()) job.prompt_text = text;
  if (r.echo && r.prompt_ids.empty()) echo_text = text;
  const int context = limits_.context_length;
  const int prompt = static_cast<int>(job.prompt_ids.size());
  if (prompt > 0 && context > 0) {
    api_error e;
    e.code = "context_length_exceeded";
    if (prompt >= context) {
      e.param = r.endpoint == api_endpoint::chat_completions ? "messages" : "prompt";
      e.message = "this model's maximum context length is " + std::to_string(context) +
                  " tokens; the prompt is " + std::to_string(prompt) + " tokens";
      return e;
    }
    if (prompt + r.sampling.max_tokens > context) {
      if (r.max_tokens_given) {
        e.param = "max_tokens";
        e.message = "this model's maximum context length is " + std::to_string(context) +
                    " tokens; you requested " + std::to_string(prompt + r.sampling.max_tokens) +
                    " (" + std::to_string(prompt) + " in the prompt, " +
                    std::to_string(r.sampling.max_tokens) + " for the completion)";
        return e;
      }
      r.sampling.max_tokens = context - prompt;  // an absent max_tokens means "as many as fit"
    }
  }
  job.sampling = r.sampling;
  job.attention = r.attention;
  job.kv_sparsity = r.kv_sparsity;
  return std::nullopt;
}

generation_handler::prepared generation_handler::prepare(std::string_view body,
                                                         api_endpoint endpoint,
                                                         const std::function<bool()>& client_connected) {
  request_limits limits = limits_;
  // Chat answers run until the model stops or the context is full, as OpenAI's do.
  if (endpoint == api_endpoint::chat_completions)
    limits.default_max_tokens = limits.context_length > 0 ? limits.context_length - 1 : 512;
  auto parsed = parse_generation_request(body, endpoint, limits);
  if (auto* e = std::get_if<api_error>(&parsed)) return {json_error_reply(*e), nullptr};
  auto& request = std::get<generation_request>(parsed);
  if (++in_flight_ > options_.max_pending) {
    --in_flight_;
    return {json_error_reply(make_api_error(
                429, "the server has " + std::to_string(options_.max_pending) +
                         " requests in flight; retry later",
                "rate_limit_exceeded")),
            nullptr};
  }
  auto slot = std::make_unique<pending_slot>(in_flight_);
  submit_job job;
  std::string echo_text;
  if (auto e = build_job(request, job, echo_text)) return {json_error_reply(*e), nullptr};
  if (!request.stream) return {run_blocking(request, job, echo_text, client_connected), nullptr};
  auto s = std::make_shared<stream_job>();
  s->request = std::move(request);
  s->job = std::move(job);
  s->echo_text = std::move(echo_text);
  s->slot = std::move(slot);
  return {std::nullopt, std::move(s)};
}

http_reply generation_handler::run_blocking(const generation_request& request,
                                            const submit_job& job, const std::string& echo_text,
                                            const std::function<bool()>& connected) {
  request_tracker tracker(metrics_);
  actors::job_watch watch;
  watch.on_chunk = [&](const token_chunk& c) {
    tracker.on_tokens(c.token_ids.size());
    return !connected || connected();
  };
  watch.still_wanted = connected;
  const actors::job_outcome o = backend_.run(job, watch);
  tracker.finish(o);
  if (!o.error.empty()) return json_error_reply(outcome_error(o));
  response_builder build(request.endpoint, request.model, request.sampling.logprobs);
  http_reply reply;
  reply.body = build.complete(echo_text + o.text, o.logprobs, o.finished.finish_reason, usage_of(o))
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return reply;
}

void generation_handler::stream(stream_job& s, const std::function<bool(std::string_view)>& write) {
  request_tracker tracker(metrics_);
  response_builder build(s.request.endpoint, s.request.model, s.request.sampling.logprobs);
  bool client_gone = false;
  auto send = [&](const std::string& payload) {
    if (!client_gone && !write(sse_event(payload))) client_gone = true;
    return !client_gone;
  };
  if (s.request.endpoint == api_endpoint::chat_completions) send(build.role_chunk());
  if (!s.echo_text.empty()) send(build.text_chunk(s.echo_text, {}));
  actors::job_watch watch;
  watch.on_chunk = [&](const token_chunk& c) {
    tracker.on_tokens(c.token_ids.size());
    if (c.text.empty() && c.logprobs.empty()) return !client_gone;
    return send(build.text_chunk(c.text, c.logprobs));
  };
  // An SSE comment while nothing arrives (queue, long prefill): a client that left makes it fail.
  watch.still_wanted = [&] {
    if (!client_gone && !write(":\n\n")) client_gone = true;
    return !client_gone;
  };
  const actors::job_outcome o = backend_.run(s.job, watch);
  s.slot.reset();  // the job ended: its place is free before the client reads [DONE]
  tracker.finish(o);
  if (client_gone || o.error == "cancelled") return;
  if (!o.error.empty()) {
    send(error_json(outcome_error(o)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    send(build.finish_chunk(o.finished.finish_reason));
    if (s.request.include_usage) send(build.usage_chunk(usage_of(o)));
  }
  send("[DONE]");
}

}  // namespace alisa::cluster
