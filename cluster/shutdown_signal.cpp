#include "cluster/shutdown_signal.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <thread>

namespace alisa::cluster {
namespace {

volatile std::sig_atomic_t requested_signal = 0;
std::atomic<bool> watchdog_started{false};

extern "C" void on_shutdown_signal(int signal) { requested_signal = signal; }

void start_watchdog(std::chrono::seconds patience) {
  if (patience.count() <= 0 || watchdog_started.exchange(true)) return;
  std::thread([patience] {
    while (requested_signal == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::this_thread::sleep_for(patience);
    std::cerr << "alisa: a clean stop took longer than " << patience.count()
              << " s after signal " << requested_signal << "; exiting now" << std::endl;
    ::_exit(128 + requested_signal);
  }).detach();
}

}  // namespace

void install_shutdown_signals(std::chrono::seconds watchdog) {
  struct sigaction action {};
  action.sa_handler = on_shutdown_signal;
  // A second Ctrl-C kills at once, should a clean stop ever hang.
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  start_watchdog(watchdog);
}

bool shutdown_requested() { return requested_signal != 0; }
int shutdown_signal_number() { return requested_signal; }

}  // namespace alisa::cluster
