#include "cluster/shutdown_signal.hpp"

#include <csignal>

namespace alisa::cluster {
namespace {

volatile std::sig_atomic_t requested_signal = 0;

extern "C" void on_shutdown_signal(int signal) { requested_signal = signal; }

}  // namespace

void install_shutdown_signals() {
  struct sigaction action {};
  action.sa_handler = on_shutdown_signal;
  // A second Ctrl-C kills at once, should a clean stop ever hang.
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool shutdown_requested() { return requested_signal != 0; }
int shutdown_signal_number() { return requested_signal; }

}  // namespace alisa::cluster
