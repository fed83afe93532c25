#include "cluster/node_system.hpp"

#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/openssl/remote_actor.hpp>

#include <sys/resource.h>

#include <charconv>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "cluster/link/cluster_secret.hpp"
#include "cluster/link/secret_links.hpp"
#include "cluster/link/tls_files.hpp"
#include "cluster/shutdown_signal.hpp"
#include "proto/caf_messages.hpp"

namespace alisa::cluster {

std::optional<std::string> link_security::validate() const {
  if (tls_enabled() && secret_enabled())
    return "--cluster-secret-file and --tls-cert/--tls-key/--tls-ca are alternatives; give one";
  if (secret_enabled()) {
    std::string error;
    if (!link::cluster_secret::load(secret_file, error)) return error;
    return std::nullopt;
  }
  if (!tls_enabled()) return std::nullopt;
  const std::pair<const char*, const std::string*> files[] = {
      {"--tls-cert", &certificate}, {"--tls-key", &key}, {"--tls-ca", &ca_file}};
  for (const auto& [flag, path] : files) {
    if (path->empty()) return std::string(flag) + " is required with TLS (--tls-cert, --tls-key, --tls-ca)";
    if (!std::filesystem::is_regular_file(*path))
      return std::string(flag) + ": no such file: " + *path;
  }
  return link::check_tls_files(certificate, key, ca_file);
}

void add_security_flags(CLI::App& app, link_security& security) {
  app.add_option("--tls-cert", security.certificate,
                 "PEM certificate of this node (signed by the cluster CA); with --tls-key and "
                 "--tls-ca every connection is mutual TLS and peers without the cluster's "
                 "certificate are refused");
  app.add_option("--tls-key", security.key, "PEM private key of --tls-cert");
  app.add_option("--tls-ca", security.ca_file, "PEM certificate of the cluster CA peers must chain to");
  app.add_option("--cluster-secret-file", security.secret_file,
                 "file holding the cluster's shared secret (16+ bytes, mode 600, e.g. `openssl "
                 "rand -hex 32`); every connection proves it before anything else is read");
  app.add_flag("--insecure", security.insecure,
               "allow listening on a non-loopback address without TLS or a cluster secret "
               "(anyone who reaches the port can join the cluster)");
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

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

namespace {

// A node holds a descriptor per connection (and, behind a handshake gate, per unfinished
// handshake): take the whole hard limit rather than the often-1024 soft one.
void raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

node_system::node_system(const link_security& security) : security_(security) {
  raise_descriptor_limit();
  register_message_types(config_);
  config_.load<caf::io::middleman>();
  // Off: with it CAF opens an extra plaintext acceptor on *:<random> in every process, whatever
  // --listen and TLS say. Workers dial memory nodes at their announced address instead.
  config_.set("middleman.enable-automatic-connections", false);
  config_.set("logger.console", caf::atom("none"));
  // Work sharing wakes an idle scheduler thread at once; work stealing's idle threads poll every
  // 10 ms, which put a 10 ms floor under every network hop of a decode step.
  config_.set("scheduler.policy", caf::atom("sharing"));
  // A peer whose host vanishes without closing its connections (power loss, cable) is noticed
  // too: heartbeats every second, connections silent for 10 s are closed (its actors go down).
  // Not with TLS: CAF 0.17's openssl transport sends no heartbeats, so the timeout would close
  // healthy idle connections (there a vanished host is noticed only by TCP itself).
  if (!security_.tls_enabled()) {
    config_.set("middleman.heartbeat-interval", caf::timespan{std::chrono::seconds(1)});
    config_.set("middleman.connection-timeout", caf::timespan{std::chrono::seconds(10)});
  }
  if (security_.tls_enabled()) {
    config_.load<caf::openssl::manager>();
    config_.openssl_certificate = security_.certificate;
    config_.openssl_key = security_.key;
    config_.openssl_cafile = security_.ca_file;
  }
  system_ = std::make_unique<caf::actor_system>(config_);
  if (security_.secret_enabled()) {
    std::string error;
    auto secret = link::cluster_secret::load(security_.secret_file, error);
    if (!secret) throw std::runtime_error(error);  // validate() ran first; the file changed since
    links_ = std::make_unique<link::secret_links>(*system_, std::move(*secret));
  }
}

node_system::~node_system() { links_.reset(); }

std::optional<uint16_t> node_system::publish(const caf::actor& whom, const endpoint& at,
                                             std::string& error) {
  if (!security_.tls_enabled() && !security_.secret_enabled() && !security_.insecure &&
      !is_loopback_host(at.host)) {
    error = "refusing to listen on " + at.to_string() +
            " without credentials: anyone who reaches it could join the cluster; give "
            "--cluster-secret-file or --tls-cert/--tls-key/--tls-ca (or --insecure)";
    return std::nullopt;
  }
  const char* host = at.host.c_str();
  auto port = links_ ? links_->publish(whom, at.port, at.host)
              : security_.tls_enabled()
                  ? caf::openssl::publish(whom, at.port, host, /*reuse=*/true)
                  : system_->middleman().publish(whom, at.port, host, /*reuse=*/true);
  if (port) return *port;
  error = "cannot listen on " + at.to_string() + ": " + system_->render(port.error());
  return std::nullopt;
}

void node_system::unpublish(const caf::actor& whom) {
  // caf::openssl::unpublish() in 0.17.6 does not compile (it names a 0.18 atom); its middleman
  // actor takes the same message as the plain one.
  if (links_)
    links_->unpublish(whom);
  else if (security_.tls_enabled())
    caf::anon_send(system_->openssl_manager().actor_handle(), caf::unpublish_atom::value,
                   whom.address(), uint16_t{0});
  else
    system_->middleman().unpublish(whom);
}

std::optional<caf::actor> node_system::connect_once(const endpoint& at, std::string& error) {
  auto peer = links_ ? links_->remote_actor(at.host, at.port)
              : security_.tls_enabled()
                  ? caf::openssl::remote_actor<caf::actor>(*system_, at.host, at.port)
                  : system_->middleman().remote_actor(at.host, at.port);
  if (peer) return *peer;
  error = "cannot reach " + at.to_string() + ": " + system_->render(peer.error()) +
          (security_.tls_enabled() ? " (is the peer using the same cluster CA?)"
           : security_.secret_enabled()
               ? ""
               : " (if the cluster requires credentials, pass --cluster-secret-file or "
                 "--tls-cert/--tls-key/--tls-ca)");
  return std::nullopt;
}

std::optional<caf::actor> node_system::connect(const endpoint& at,
                                               std::chrono::milliseconds patience,
                                               std::string& error) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  for (;;) {
    if (auto peer = connect_once(at, error)) return peer;
    if (std::chrono::steady_clock::now() >= deadline || shutdown_requested()) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace alisa::cluster
