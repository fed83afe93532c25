#include "cluster/http/openai_server.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>
#include <optional>

#include <nlohmann/json.hpp>

#include "cluster/http/connection_probe.hpp"
#include "cluster/http/generation_handler.hpp"
#include "cluster/http/openai_response.hpp"
#include "cluster/http/serve_metrics.hpp"

namespace alisa::cluster {
namespace {

using json = nlohmann::json;

void reply(httplib::Response& res, const http_reply& r) {
  res.status = r.status;
  for (const auto& [k, v] : r.headers) res.set_header(k, v);
  res.set_content(r.body, r.content_type);
}

// httplib's own refusals (no route, body too large, unreadable request) as OpenAI errors.
api_error error_for_status(int status, const httplib::Request& req) {
  switch (status) {
    case 404: return make_api_error(404, "no route " + req.method + " " + req.path, "not_found_error");
    case 405: return make_api_error(405, req.method + " is not allowed on " + req.path, "invalid_request_error");
    case 413: return make_api_error(413, "the request body is larger than the server accepts",
                                  "invalid_request_error");
    case 414: return make_api_error(414, "the request URI is too long", "invalid_request_error");
    default: return make_api_error(status, "the request could not be read", "invalid_request_error");
  }
}

}  // namespace

struct openai_server::impl {
  impl(serve_backend& b, serve_options o)
      : backend(b), options(std::move(o)), metrics(options.model_name),
        handler(backend, metrics, options) {}

  void routes();
  void generation(const httplib::Request& req, httplib::Response& res, api_endpoint endpoint);
  json model_json() const;

  serve_backend& backend;
  serve_options options;
  serve_metrics metrics;
  generation_handler handler;
  httplib::Server server;
  int port = -1;
  int listen_fd = -1;  // the listening socket, captured when httplib creates it
  int64_t created = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
};

json openai_server::impl::model_json() const {
  return {{"id", options.model_name},
          {"object", "model"},
          {"created", created},
          {"owned_by", "alisa"},
          {"root", options.model_name},
          {"parent", nullptr},
          {"max_model_len", backend.context_length()}};
}

void openai_server::impl::generation(const httplib::Request& req, httplib::Response& res,
                                     api_endpoint endpoint) {
  // A non-streaming job writes nothing until it ends: the probe notices a client that left.
  std::optional<connection_probe> probe;
  auto connected = [&] {
    if (!probe) probe.emplace(req.remote_addr, req.remote_port, port);
    return probe->connected();
  };
  auto prepared = handler.prepare(req.body, endpoint, connected);
  if (prepared.reply) {
    reply(res, *prepared.reply);
    return;
  }
  auto job = prepared.stream;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream", [this, job](size_t, httplib::DataSink& sink) {
        handler.stream(*job, [&sink](std::string_view event) {
          return sink.is_writable() && sink.write(event.data(), event.size());
        });
        sink.done();
        return true;
      });
}

void openai_server::impl::routes() {
  server.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
    generation(req, res, api_endpoint::completions);
  });
  server.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    generation(req, res, api_endpoint::chat_completions);
  });
  server.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(json({{"object", "list"}, {"data", json::array({model_json()})}}).dump(),
                    "application/json");
  });
  server.Get(R"(/v1/models/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    if (req.matches[1] != options.model_name) {
      api_error e = make_api_error(404, "the model '" + std::string(req.matches[1]) + "' does not exist",
                                 "invalid_request_error");
      e.code = "model_not_found";
      reply(res, json_error_reply(e));
      return;
    }
    res.set_content(model_json().dump(), "application/json");
  });
  server.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    const auto m = backend.metrics();
    const bool ok = m && m->workers > 0;
    res.status = ok ? 200 : 503;
    res.set_content(json({{"status", ok ? "ok" : m ? "no worker" : "coordinator unreachable"}}).dump(),
                    "application/json");
  });
  server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.render(backend.metrics()), "text/plain; version=0.0.4; charset=utf-8");
  });
}

openai_server::openai_server(serve_backend& backend, serve_options options)
    : impl_(std::make_unique<impl>(backend, std::move(options))) {
  auto& s = impl_->server;
  const auto& o = impl_->options;
  const int threads = o.max_connections;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.set_payload_max_length(o.max_body_bytes);
  s.set_read_timeout(o.read_timeout_s, 0);
  s.set_write_timeout(o.write_timeout_s, 0);
  s.set_keep_alive_timeout(5);
  // httplib listens with a backlog of 5, so a burst of clients overflows the accept queue and
  // some connections are dropped. Capture the socket (the default options are SO_REUSEADDR) and
  // raise the backlog once bound (listen() on a listening socket updates it).
  s.set_socket_options([this](socket_t fd) {
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    impl_->listen_fd = fd;
  });
  s.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty()) reply(res, json_error_reply(error_for_status(res.status, req)));
  });
  s.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        reply(res, json_error_reply(make_api_error(500, what, "server_error")));
      });
  s.set_logger([this](const httplib::Request&, const httplib::Response& res) {
    impl_->metrics.http_response(res.status);
  });
  impl_->routes();
}

openai_server::~openai_server() { stop(); }

bool openai_server::bind(std::string& error) {
  const auto& o = impl_->options;
  if (o.port == 0) {
    impl_->port = impl_->server.bind_to_any_port(o.host);
  } else if (impl_->server.bind_to_port(o.host, o.port)) {
    impl_->port = o.port;
  }
  if (impl_->port > 0 && impl_->listen_fd >= 0) ::listen(impl_->listen_fd, SOMAXCONN);
  if (impl_->port <= 0) {
    error = "cannot listen on " + o.host + ":" + std::to_string(o.port) +
            " (in use, not an address of this machine, or not permitted)";
    return false;
  }
  return true;
}

int openai_server::port() const { return impl_->port; }

void openai_server::run() { impl_->server.listen_after_bind(); }

void openai_server::stop() {
  if (impl_->server.is_running()) impl_->server.stop();
}

}  // namespace alisa::cluster
