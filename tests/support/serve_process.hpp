#pragma once
// serve_process — `alisa serve` on a free loopback port as a child process, for the HTTP tests:
// waits for its "serving … on http://127.0.0.1:PORT" line and hands out clients and SSE reads.
#include <httplib.h>

#include <chrono>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/child_process.hpp"

namespace alisa::testing {

class serve_process {
 public:
  explicit serve_process(std::vector<std::string> extra_args) {
    std::vector<std::string> args = {"serve", "--host", "127.0.0.1", "--port", "0"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    child_ = std::make_unique<child_process>(args);
    if (!child_->wait_for_output("serving", std::chrono::seconds(60))) return;
    std::smatch m;
    const std::string out = child_->out();
    if (std::regex_search(out, m, std::regex("http://127\\.0\\.0\\.1:([0-9]+)")))
      port_ = std::stoi(m[1]);
  }
  bool ready() const { return port_ > 0; }
  int port() const { return port_; }
  child_process& process() { return *child_; }
  std::string log() const { return child_->out() + child_->err(); }

  httplib::Client client(int timeout_s = 120) const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(timeout_s, 0);
    c.set_connection_timeout(5, 0);
    return c;
  }

  // POST `body` as JSON; returns (status, parsed body or null when it is not JSON).
  std::pair<int, nlohmann::json> post(const std::string& path, const std::string& body) const {
    auto c = client();
    auto res = c.Post(path, body, "application/json");
    if (!res) return {-1, nullptr};
    return {res->status, nlohmann::json::parse(res->body, nullptr, false)};
  }
  std::pair<int, nlohmann::json> post(const std::string& path, const nlohmann::json& body) const {
    return post(path, body.dump());
  }

  // POSTs a streaming request and returns the payload of every `data:` event in order.
  // on_event returning false hangs up (the test's "client that goes away").
  std::vector<std::string> stream(const std::string& path, const nlohmann::json& body,
                                  const std::function<bool(const std::string&)>& on_event = {}) const {
    auto c = client();
    httplib::Request req;
    req.method = "POST";
    req.path = path;
    req.body = body.dump();
    req.set_header("Content-Type", "application/json");
    std::string buffer;
    std::vector<std::string> events;
    bool hung_up = false;
    req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
      buffer.append(data, len);
      for (size_t end; (end = buffer.find("\n\n")) != std::string::npos;) {
        const std::string event = buffer.substr(0, end);
        buffer.erase(0, end + 2);
        if (event.rfind("data: ", 0) != 0) continue;  // SSE comments (keep-alives)
        events.push_back(event.substr(6));
        if (on_event && !on_event(events.back())) {
          hung_up = true;
          return false;
        }
      }
      return true;
    };
    httplib::Response res;
    httplib::Error error = httplib::Error::Success;
    c.send(req, res, error);
    if (!hung_up && error != httplib::Error::Success)
      events.push_back("<transport error: " + httplib::to_string(error) + ">");
    return events;
  }

 private:
  std::unique_ptr<child_process> child_;
  int port_ = -1;
};

}  // namespace alisa::testing
