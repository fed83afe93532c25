#pragma once
// child_process — running the `alisa` binary from tests as separate processes (the multi-process
// cluster tests): start with stdout and stderr captured to files, wait for a line, wait for the
// exit with a deadline, signal. A process the test forgot is killed when its handle dies, so a
// failing test never leaves a cluster running.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace alisa::testing {

inline std::string read_text_file(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class child_process {
 public:
  // Starts ALISA_BINARY_DIR/bin/alisa with `args`.
  explicit child_process(const std::vector<std::string>& args) {
    static int counter = 0;
    const auto dir = std::filesystem::temp_directory_path();
    const std::string stem = "alisa_child_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    out_path_ = (dir / (stem + ".out")).string();
    err_path_ = (dir / (stem + ".err")).string();
    std::vector<std::string> argv = {std::string(ALISA_BINARY_DIR) + "/bin/alisa"};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      std::freopen(out_path_.c_str(), "w", stdout);
      std::freopen(err_path_.c_str(), "w", stderr);
      ::setpgid(0, 0);  // its own group: a signal to the test runner's group does not reach it
      std::vector<char*> raw;
      for (auto& a : argv) raw.push_back(a.data());
      raw.push_back(nullptr);
      ::execv(raw[0], raw.data());
      ::_exit(127);
    }
  }
  ~child_process() {
    if (running()) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    std::filesystem::remove(out_path_);
    std::filesystem::remove(err_path_);
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }
  std::string out() const { return read_text_file(out_path_); }
  std::string err() const { return read_text_file(err_path_); }
  bool running() {
    if (exited_) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) record(status);
    return !exited_;
  }
  void signal(int sig) { ::kill(pid_, sig); }

  // Waits until stdout contains `needle`; false on timeout or exit.
  bool wait_for_output(const std::string& needle, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (out().find(needle) != std::string::npos) return true;
      if (!running()) return out().find(needle) != std::string::npos;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // The exit status (or -signal), or nullopt when still running at the deadline.
  std::optional<int> wait(std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return status_;
  }

 private:
  void record(int status) {
    exited_ = true;
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
  std::string out_path_, err_path_;
};

}  // namespace alisa::testing
