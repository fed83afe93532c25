#pragma once
// openai_server — the HTTP front end of `alisa serve`: OpenAI's API on top of the actor runtime.
//
//   POST /v1/completions        text_completion (stream: SSE chunks, then `data: [DONE]`)
//   POST /v1/chat/completions   chat.completion (the model's chat template renders the messages)
//   GET  /v1/models             the one model served;  GET /v1/models/{id}
//   GET  /health                200 when a worker is alive, else 503
//   GET  /metrics               Prometheus text (serve_metrics)
//
// A request's life (docs/serving.md): the body is parsed and checked (openai_request; a bad one
// is a 400 naming the field), the prompt encoded here when this process has the tokenizer (the
// context check is then exact), the job submitted to the coordinator through a job watch, and
// its tokens written back as they come. A streaming client that hangs up abandons its job: the
// next write fails (an SSE comment is written every poll interval while no token arrives) and the
// job is cancelled, which frees its KV. More than max_pending requests in flight → 429 with
// Retry-After; a body over max_body_bytes → 413; every error is OpenAI's JSON error object.
//
// Threads: one per connection, at most max_connections (httplib's pool); each request blocks its
// thread on its job. Header and body reads time out after read_timeout_s.
#include <cstddef>
#include <memory>
#include <string>

#include "cluster/http/chat_template.hpp"
#include "cluster/http/serve_backend.hpp"

namespace alisa::cluster {

struct serve_options {
  std::string host = "127.0.0.1";
  int port = 8000;                      // 0 = any free port (port() tells which)
  std::string model_name;               // the id clients send as `model`
  chat_family chat = chat_family::plain;
  size_t max_body_bytes = 8u << 20;     // larger bodies get 413
  int max_connections = 128;            // concurrent connections served (threads)
  int max_pending = 256;                // generation requests in flight; more get 429
  int read_timeout_s = 30;              // per header/body read
  int write_timeout_s = 30;
};

class openai_server {
 public:
  openai_server(serve_backend& backend, serve_options options);
  ~openai_server();
  openai_server(const openai_server&) = delete;
  openai_server& operator=(const openai_server&) = delete;

  // Binds host:port; false with `error` naming the address when it cannot.
  bool bind(std::string& error);
  int port() const;
  // Serves until stop() (from another thread or a signal watcher).
  void run();
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace alisa::cluster
