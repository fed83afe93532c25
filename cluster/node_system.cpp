#include "cluster/node_system.hpp"

#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/openssl/remote_actor.hpp>

#include <charconv>
#include <filesystem>
#include <thread>

#include "cluster/shutdown_signal.hpp"
#include "proto/caf_messages.hpp"

namespace alisa::cluster {

std::optional<std::string> tls_options::validate() const {
  if (!enabled()) return std::nullopt;
  const std::pair<const char*, const std::string*> files[] = {
      {"--tls-cert", &certificate}, {"--tls-key", &key}, {"--tls-ca", &ca_file}};
  for (const auto& [flag, path] : files) {
    if (path->empty()) return std::string(flag) + " is required with TLS (--tls-cert, --tls-key, --tls-ca)";
    if (!std::filesystem::is_regular_file(*path))
      return std::string(flag) + ": no such file: " + *path;
  }
  return std::nullopt;
}

void add_tls_flags(CLI::App& app, tls_options& tls) {
  app.add_option("--tls-cert", tls.certificate,
                 "PEM certificate of this node (signed by the cluster CA); with --tls-key and "
                 "--tls-ca every connection is TLS and peers without the cluster's certificate "
                 "are refused");
  app.add_option("--tls-key", tls.key, "PEM private key of --tls-cert");
  app.add_option("--tls-ca", tls.ca_file, "PEM certificate of the cluster CA peers must chain to");
}

std::optional<endpoint> parse_endpoint(const std::string& text, const char* flag,
                                       std::string& error) {
  const auto colon = text.rfind(':');
  endpoint e;
  unsigned port = 0;
  if (colon != std::string::npos) {
    const char* first = text.data() + colon + 1;
    const char* last = text.data() + text.size();
    auto [end, ec] = std::from_chars(first, last, port);
    if (ec == std::errc() && end == last && first != last && port <= 65535) {
      if (colon > 0) e.host = text.substr(0, colon);
      e.port = static_cast<uint16_t>(port);
      return e;
    }
  }
  error = std::string(flag) + " must be HOST:PORT (port 0-65535), got '" + text + "'";
  return std::nullopt;
}

node_system::node_system(const tls_options& tls) : tls_(tls) {
  register_message_types(config_);
  config_.load<caf::io::middleman>();
  // Workers fetch KV from memory nodes directly rather than through the coordinator's node.
  config_.set("middleman.enable-automatic-connections", true);
  config_.set("logger.console", caf::atom("none"));
  // Work sharing wakes an idle scheduler thread at once; work stealing's idle threads poll every
  // 10 ms, which put a 10 ms floor under every network hop of a decode step.
  config_.set("scheduler.policy", caf::atom("sharing"));
  // A peer whose host vanishes without closing its connections (power loss, cable) is noticed
  // too: heartbeats every second, connections silent for 10 s are closed (its actors go down).
  // Not with TLS: CAF 0.17's openssl transport sends no heartbeats, so the timeout would close
  // healthy idle connections (there a vanished host is noticed only by TCP itself).
  if (!tls_.enabled()) {
    config_.set("middleman.heartbeat-interval", caf::timespan{std::chrono::seconds(1)});
    config_.set("middleman.connection-timeout", caf::timespan{std::chrono::seconds(10)});
  }
  if (tls_.enabled()) {
    config_.load<caf::openssl::manager>();
    config_.openssl_certificate = tls_.certificate;
    config_.openssl_key = tls_.key;
    config_.openssl_cafile = tls_.ca_file;
  }
  system_ = std::make_unique<caf::actor_system>(config_);
}

node_system::~node_system() = default;

std::optional<uint16_t> node_system::publish(const caf::actor& whom, const endpoint& at,
                                             std::string& error) {
  const char* host = at.host.c_str();
  auto port = tls_.enabled() ? caf::openssl::publish(whom, at.port, host, /*reuse=*/true)
                             : system_->middleman().publish(whom, at.port, host, /*reuse=*/true);
  if (port) return *port;
  error = "cannot listen on " + at.to_string() + ": " + system_->render(port.error());
  return std::nullopt;
}

void node_system::unpublish(const caf::actor& whom) {
  // caf::openssl::unpublish() in 0.17.6 does not compile (it names a 0.18 atom); its middleman
  // actor takes the same message as the plain one.
  if (tls_.enabled())
    caf::anon_send(system_->openssl_manager().actor_handle(), caf::unpublish_atom::value,
                   whom.address(), uint16_t{0});
  else
    system_->middleman().unpublish(whom);
}

std::optional<caf::actor> node_system::connect(const endpoint& at,
                                               std::chrono::milliseconds patience,
                                               std::string& error) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  for (;;) {
    auto peer = tls_.enabled()
                    ? caf::openssl::remote_actor<caf::actor>(*system_, at.host, at.port)
                    : system_->middleman().remote_actor(at.host, at.port);
    if (peer) return *peer;
    if (std::chrono::steady_clock::now() >= deadline || shutdown_requested()) {
      error = "cannot reach " + at.to_string() + ": " + system_->render(peer.error()) +
              (tls_.enabled() ? " (is the peer using the same cluster CA?)"
                              : " (if the cluster requires TLS, pass --tls-cert/--tls-key/--tls-ca)");
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace alisa::cluster
