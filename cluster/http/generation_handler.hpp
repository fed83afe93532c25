#pragma once
// generation_handler — one completions or chat request, from its body to its answer, with no HTTP
// types: the server hands it the body and a write function, so it is tested directly.
//
//   prepare(body) ── bad body ──> reply (4xx, OpenAI error JSON)
//                 ── too many in flight ──> reply 429 (Retry-After)
//                 ── stream: false ──> runs the job, reply 200 (or the job's error)
//                 ── stream: true ──> a prepared job; stream(job, write) runs it and writes SSE
//                                     events; write() returning false abandons (cancels) the job
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/http/openai_request.hpp"
#include "cluster/http/serve_backend.hpp"
#include "cluster/http/serve_metrics.hpp"

namespace alisa::cluster {

struct serve_options;

struct http_reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

http_reply json_error_reply(const api_error& e);

class generation_handler {
 public:
  // A streaming request that passed its checks, to run with stream().
  struct stream_job;
  struct prepared {
    std::optional<http_reply> reply;     // the answer (everything but an accepted stream)
    std::shared_ptr<stream_job> stream;  // set when the answer is an SSE stream
  };

  generation_handler(serve_backend& backend, serve_metrics& metrics, const serve_options& options);
  ~generation_handler();

  // client_connected (optional) is asked while a non-streaming job runs: false cancels it.
  prepared prepare(std::string_view body, api_endpoint endpoint,
                   const std::function<bool()>& client_connected = {});
  // Runs the job and writes its SSE events (each a complete `data: …\n\n`), ending with
  // `data: [DONE]`. Returns when the job ended or the client went away.
  void stream(stream_job& job, const std::function<bool(std::string_view)>& write);

 private:
  struct pending_slot;
  std::optional<api_error> build_job(generation_request& request, submit_job& job,
                                     std::string& echo_text) const;
  http_reply run_blocking(const generation_request& request, const submit_job& job,
                          const std::string& echo_text, const std::function<bool()>& connected);

  serve_backend& backend_;
  serve_metrics& metrics_;
  const serve_options& options_;
  request_limits limits_;
  std::atomic<int> in_flight_{0};
};

}  // namespace alisa::cluster
