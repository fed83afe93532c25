#include "cluster/serve_command.hpp"

#include <csignal>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <thread>

#include "actors/embedded_runtime.hpp"
#include "cluster/cli_errors.hpp"
#include "cluster/coordinator_client.hpp"
#include "cluster/engine_flags.hpp"
#include "cluster/log.hpp"
#include "cluster/http/openai_server.hpp"
#include "cluster/node_command.hpp"
#include "cluster/shutdown_signal.hpp"

namespace alisa::cluster {
namespace {

struct serve_flags {
  engine_flags engine;
  scheduler::batching_options batching;
  serve_options server;
  std::string chat_template;
  coordinator_flags cluster;  // used when --coordinator is given
  CLI::Option* coordinator_option = nullptr;
};

// The id clients send as `model`: --served-model-name, else the model's file or folder name.
std::string default_model_name(const std::string& model) {
  if (model.rfind("synthetic:", 0) == 0) return model;
  const std::filesystem::path p(model);
  const auto name = p.has_filename() ? p.filename() : p.parent_path().filename();
  return name.empty() ? std::string("alisa") : name.string();
}

std::optional<std::string> check_server_flags(const serve_options& o) {
  if (o.port < 0 || o.port > 65535) return "--port must be in [0, 65535]";
  if (o.max_connections < 1 || o.max_connections > 4096)
    return "--max-connections must be in [1, 4096]";
  if (o.max_pending < 1) return "--max-pending must be >= 1";
  if (o.max_body_bytes < 1024) return "--max-body-bytes must be at least 1024";
  if (o.read_timeout_s < 1) return "--read-timeout must be >= 1 second";
  return std::nullopt;
}

// Binds, says where it listens, and serves until Ctrl-C / SIGTERM.
int serve_until_signal(serve_backend& backend, const serve_options& options) {
  openai_server server(backend, options);
  std::string error;
  if (!server.bind(error)) return fail(error);
  // On stdout: the one line scripts and tests wait for (port 0 is resolved here).
  std::cout << "alisa: serving '" << options.model_name << "' on http://" << options.host << ":"
            << server.port() << " (POST /v1/completions, /v1/chat/completions; GET /v1/models, "
            << "/health, /metrics; chat template " << to_string(options.chat) << ")" << std::endl;
  install_shutdown_signals(std::chrono::seconds(20));
  std::thread http([&] { server.run(); });
  while (!shutdown_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  spdlog::info("stopping the HTTP server");
  server.stop();
  http.join();
  return 0;
}

int serve_embedded(serve_flags& flags) {
  if (auto err = finish_engine_flags(flags.engine)) return fail(*err);
  flags.batching.validate();  // before loading the model: a one-line error naming the flag
  auto choice = choose_chat_family(flags.engine.options.model, flags.chat_template);
  if (!choice.error.empty()) return fail(choice.error);
  flags.server.chat = choice.family;
  log_loading(flags.engine.options.model);
  const auto load_start = std::chrono::steady_clock::now();
  auto engine = engine::local_engine::open(flags.engine.options);
  if (!engine.ok()) return fail(engine.status());
  log_model(**engine, seconds_since(load_start));
  const int prefill = (*engine)->options().max_prefill_tokens;
  flags.batching.max_prefill_tokens = prefill > 0 ? prefill : std::numeric_limits<int>::max();
  actors::embedded_runtime runtime(std::move(*engine), flags.batching);
  const auto& e = runtime.engine();
  serve_backend backend(runtime.system(), runtime.coordinator(),
                        std::shared_ptr<const model::tokenizer>(std::shared_ptr<void>(), &e.tokenizer()),
                        e.config().max_position_embeddings);
  if (flags.server.model_name.empty())
    flags.server.model_name = default_model_name(flags.engine.options.model);
  return serve_until_signal(backend, flags.server);
}

int serve_cluster(serve_flags& flags) {
  auto choice = choose_chat_family(flags.engine.options.model, flags.chat_template);
  if (!choice.error.empty()) return fail(choice.error);
  flags.server.chat = choice.family;
  if (auto err = flags.cluster.security.validate()) return fail(*err);
  node_system node(flags.cluster.security);
  endpoint at;
  std::string error;
  auto coordinator = connect_coordinator(node, flags.cluster, at, error);
  if (!coordinator) return fail(error);
  // The coordinator encodes prompts and checks them against the workers' context, which it
  // reports (for /v1/models and the max_tokens check).
  int context = flags.engine.options.context_length;
  if (auto m = serve_backend(node.system(), *coordinator, nullptr, 0).metrics();
      m && m->context_length > 0)
    context = m->context_length;
  serve_backend backend(node.system(), *coordinator, nullptr, context);
  if (flags.server.model_name.empty())
    flags.server.model_name = default_model_name(flags.engine.options.model);
  return serve_until_signal(backend, flags.server);
}

int serve(serve_flags& flags) {
  std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not end the server
  if (auto err = check_server_flags(flags.server)) return fail(*err);
  if (*flags.coordinator_option) return serve_cluster(flags);
  return serve_embedded(flags);
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<serve_flags>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "serve the model over an OpenAI-compatible HTTP API (docs/serving.md)");
  add_engine_flags(*cmd, flags->engine);
  add_batching_flags(*cmd, flags->batching);
  auto& o = flags->server;
  cmd->add_option("--host", o.host, "address to listen on")->capture_default_str();
  cmd->add_option("--port", o.port, "TCP port to listen on (0 = any free port)")
      ->capture_default_str();
  cmd->add_option("--served-model-name", o.model_name,
                  "the model id clients send (default: the model's file or folder name)");
  cmd->add_option("--chat-template", flags->chat_template,
                  "chat template family: " + chat_family_names() +
                      " (default: detected from the model's tokenizer_config.json, else plain)");
  cmd->add_option("--max-body-bytes", o.max_body_bytes, "largest request body accepted (413 above)")
      ->capture_default_str();
  cmd->add_option("--max-connections", o.max_connections, "connections served at once")
      ->capture_default_str();
  cmd->add_option("--max-pending", o.max_pending,
                  "generation requests in flight; more are answered 429 with Retry-After")
      ->capture_default_str();
  cmd->add_option("--read-timeout", o.read_timeout_s,
                  "seconds a client may take to send a request's headers or body")
      ->capture_default_str();
  flags->coordinator_option = cmd->add_option(
      "--coordinator", flags->cluster.coordinator,
      "HOST:PORT of a running cluster's coordinator to front (default: run the model here)");
  cmd->add_option("--connect-timeout", flags->cluster.connect_timeout_s,
                  "with --coordinator: seconds to keep trying to reach it")
      ->capture_default_str();
  add_security_flags(*cmd, flags->cluster.security);
  cmd->callback([flags, &exit_code] {
    exit_code = run_reporting_errors([&] { return serve(*flags); });
  });
}

}  // namespace alisa::cluster
