#include "cluster/link/secret_links.hpp"

#include <caf/io/basp_broker.hpp>
#include <caf/io/doorman.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor_impl.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <unistd.h>

#include "cluster/link/secret_dial.hpp"

namespace alisa::cluster::link {
namespace {

// How long a dial (TCP connect plus handshake) may take; node_system::connect retries.
constexpr std::chrono::seconds kDialTimeout{5};
// Bounds a request to the middleman actor (a dial plus CAF's handshake fits well within it).
constexpr std::chrono::seconds kLocalRequestTimeout{30};

// A doorman whose connections come from a handshake_gate instead of accept(): the gate's thread
// authenticates, then each admitted socket is handed to the broker on the multiplexer's thread.
class gated_doorman final : public caf::io::doorman {
 public:
  gated_doorman(caf::io::network::multiplexer& mpx, std::unique_ptr<handshake_gate> gate)
      : doorman(caf::io::network::accept_hdl_from_socket(gate->listening_fd())),
        mpx_(mpx),
        gate_(std::move(gate)) {}
  ~gated_doorman() override { gate_->stop(); }

  bool new_connection() override { return false; }  // the gate accepts, not the multiplexer
  void graceful_shutdown() override {
    gate_->stop();
    detach(&mpx_, false);
  }
  void launch() override {
    gate_->start([this](int fd) {
      // The captured owner keeps this doorman alive until the hand-over ran.
      mpx_.dispatch([self = caf::io::doorman_ptr{this}, this, fd] { admit(fd); });
    });
  }
  std::string addr() const override { return gate_->host(); }
  uint16_t port() const override { return gate_->port(); }
  void add_to_loop() override {}
  void remove_from_loop() override {}

 private:
  // On the multiplexer's thread: what doorman_impl does with an accepted socket.
  void admit(int fd) {
    if (detached()) {
      ::close(fd);
      return;
    }
    auto scribe = mpx_.new_scribe(fd);
    auto hdl = scribe->hdl();
    parent()->add_scribe(std::move(scribe));
    doorman::new_connection(&mpx_, hdl);
  }

  caf::io::network::multiplexer& mpx_;
  std::unique_ptr<handshake_gate> gate_;
};

class secret_middleman_actor final : public caf::io::middleman_actor_impl {
 public:
  secret_middleman_actor(caf::actor_config& cfg, caf::actor broker, cluster_secret secret,
                         gate_limits limits)
      : middleman_actor_impl(cfg, std::move(broker)), secret_(std::move(secret)), limits_(limits) {}

  const char* name() const override { return "alisa_secret_middleman"; }

 protected:
  caf::expected<caf::io::scribe_ptr> connect(const std::string& host, uint16_t port) override {
    std::string error;
    const int fd = dial_with_secret(host, port, secret_, kDialTimeout, error);
    if (fd < 0) return caf::make_error(caf::sec::cannot_connect_to_node, error);
    return system().middleman().backend().new_scribe(fd);
  }

  caf::expected<caf::io::doorman_ptr> open(uint16_t port, const char* addr, bool) override {
    std::string error;
    auto gate = handshake_gate::bind(addr ? addr : "", port, secret_, limits_, error);
    if (!gate) return caf::make_error(caf::sec::cannot_open_port, error);
    return caf::make_counted<gated_doorman>(system().middleman().backend(), std::move(gate));
  }

 private:
  cluster_secret secret_;
  gate_limits limits_;
};

}  // namespace

secret_links::secret_links(caf::actor_system& sys, cluster_secret secret, gate_limits limits)
    : sys_(sys) {
  auto broker = sys.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  actor_ = sys.spawn<secret_middleman_actor, caf::detached + caf::hidden>(std::move(broker),
                                                                         std::move(secret), limits);
}

secret_links::~secret_links() { caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown); }

caf::expected<uint16_t> secret_links::publish(const caf::actor& whom, uint16_t port,
                                              const std::string& host) {
  caf::scoped_actor self{sys_};
  caf::expected<uint16_t> result{caf::sec::cannot_open_port};
  self->request(actor_, kLocalRequestTimeout, caf::publish_atom::value, port,
                caf::actor_cast<caf::strong_actor_ptr>(whom), sys_.message_types(whom), host, true)
      .receive([&](uint16_t bound) { result = bound; },
               [&](caf::error& error) { result = std::move(error); });
  return result;
}

void secret_links::unpublish(const caf::actor& whom) {
  caf::anon_send(actor_, caf::unpublish_atom::value, whom.address(), uint16_t{0});
}

caf::expected<caf::actor> secret_links::remote_actor(const std::string& host, uint16_t port) {
  caf::scoped_actor self{sys_};
  caf::expected<caf::actor> result{caf::sec::cannot_connect_to_node};
  self->request(actor_, kLocalRequestTimeout, caf::connect_atom::value, host, port)
      .receive(
          [&](const caf::node_id&, caf::strong_actor_ptr& ptr, std::set<std::string>&) {
            if (ptr)
              result = caf::actor_cast<caf::actor>(std::move(ptr));
            else
              result = caf::make_error(caf::sec::no_actor_published_at_port, host, port);
          },
          [&](caf::error& error) { result = std::move(error); });
  return result;
}

}  // namespace alisa::cluster::link
