#include "cluster/http/serve_load.hpp"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <regex>
#include <thread>

namespace alisa::cluster {
namespace {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

struct request_result {
  bool ok = false;
  std::string error;
  double ttft_ms = 0, e2e_ms = 0;
  std::vector<double> itl_ms;  // one per output token after the first
  int prompt_tokens = 0, output_tokens = 0;
};

double ms(clock_type::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Random prompts of `words` words from a small vocabulary every tokenizer handles.
std::string random_prompt(std::mt19937_64& rng, int words) {
  static const char* kWords[] = {"once", "upon", "a", "time", "there", "was", "little", "girl",
                                 "named", "lily", "she", "loved", "to", "play", "in", "the",
                                 "park", "with", "her", "big", "red", "ball", "and", "dog"};
  std::string out;
  for (int i = 0; i < words; ++i) {
    if (i) out += ' ';
    out += kWords[rng() % std::size(kWords)];
  }
  return out;
}

json request_body(const serve_load_options& o, const std::string& prompt) {
  json body = {{"model", o.model},   {"max_tokens", o.output_tokens}, {"ignore_eos", true},
               {"temperature", 0.0}, {"stream", true},               {"stream_options", {{"include_usage", true}}}};
  if (o.path.find("chat") != std::string::npos)
    body["messages"] = json::array({{{"role", "user"}, {"content", prompt}}});
  else
    body["prompt"] = prompt;
  return body;
}

// Counts the output tokens a streamed chunk carries: one per non-empty text piece (servers
// stream about one token per event); the final usage chunk gives the exact total.
void on_event(const std::string& data, request_result& r, clock_type::time_point start,
              clock_type::time_point& last, int& pieces) {
  if (data == "[DONE]") return;
  const json chunk = json::parse(data, nullptr, false);
  if (chunk.is_discarded()) return;
  if (chunk.contains("error")) {
    r.error = chunk["error"].value("message", "stream error");
    return;
  }
  if (chunk.contains("usage") && chunk["usage"].is_object()) {
    r.prompt_tokens = chunk["usage"].value("prompt_tokens", 0);
    r.output_tokens = chunk["usage"].value("completion_tokens", 0);
  }
  if (!chunk.contains("choices") || chunk["choices"].empty()) return;
  const json& c = chunk["choices"][0];
  std::string text;
  if (c.contains("text") && c["text"].is_string()) text = c["text"];
  if (c.contains("delta") && c["delta"].contains("content") && c["delta"]["content"].is_string())
    text = c["delta"]["content"];
  if (text.empty()) return;
  const auto now = clock_type::now();
  if (pieces++ == 0)
    r.ttft_ms = ms(now - start);
  else
    r.itl_ms.push_back(ms(now - last));
  last = now;
}

request_result one_request(const serve_load_options& o, const std::string& prompt) {
  request_result r;
  httplib::Client client(o.host, o.port);
  client.set_read_timeout(o.timeout_s, 0);
  client.set_connection_timeout(10, 0);
  httplib::Request req;
  req.method = "POST";
  req.path = o.path;
  req.body = request_body(o, prompt).dump();
  req.set_header("Content-Type", "application/json");
  const auto start = clock_type::now();
  auto last = start;
  int pieces = 0;
  std::string buffer;
  req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
    buffer.append(data, len);
    for (size_t end; (end = buffer.find("\n\n")) != std::string::npos;) {
      const std::string event = buffer.substr(0, end);
      buffer.erase(0, end + 2);
      if (event.rfind("data: ", 0) == 0) on_event(event.substr(6), r, start, last, pieces);
    }
    return true;
  };
  httplib::Response res;
  httplib::Error error = httplib::Error::Success;
  client.send(req, res, error);
  r.e2e_ms = ms(clock_type::now() - start);
  if (error != httplib::Error::Success) r.error = "transport: " + httplib::to_string(error);
  else if (res.status != 200) r.error = "HTTP " + std::to_string(res.status) + ": " + res.body;
  r.ok = r.error.empty() && pieces > 0;
  if (r.ok && r.output_tokens == 0) r.output_tokens = pieces;
  if (!r.ok && r.error.empty()) r.error = "no tokens streamed";
  return r;
}

json percentiles(std::vector<double> v) {
  if (v.empty()) return nullptr;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[static_cast<size_t>(q * double(v.size() - 1) + 0.5)]; };
  double sum = 0;
  for (double x : v) sum += x;
  return {{"mean", sum / double(v.size())}, {"p50", at(0.5)}, {"p90", at(0.9)},
          {"p99", at(0.99)}, {"max", v.back()}};
}

// The server's first model id, so a benchmark needs no --model against a one-model server.
std::string first_model(const serve_load_options& o) {
  httplib::Client client(o.host, o.port);
  client.set_connection_timeout(10, 0);
  auto res = client.Get("/v1/models");
  if (!res || res->status != 200) return "";
  const json j = json::parse(res->body, nullptr, false);
  if (j.is_discarded() || !j.contains("data") || j["data"].empty()) return "";
  return j["data"][0].value("id", "");
}

}  // namespace

bool parse_base_url(const std::string& url, serve_load_options& o, std::string& error) {
  std::smatch m;
  if (!std::regex_match(url, m, std::regex(R"(http://([^/:]+):([0-9]{1,5})/?(v1/?)?)"))) {
    error = "--url must look like http://HOST:PORT (https is not supported); got '" + url + "'";
    return false;
  }
  o.host = m[1];
  o.port = std::stoi(m[2]);
  if (o.port < 1 || o.port > 65535) {
    error = "--url port must be in [1, 65535]";
    return false;
  }
  return true;
}

json run_serve_load(const serve_load_options& options) {
  serve_load_options o = options;
  if (o.model.empty()) o.model = first_model(o);
  std::mt19937_64 rng(o.seed);
  std::exponential_distribution<double> gap(o.request_rate > 0 ? o.request_rate : 1.0);
  std::vector<request_result> results(static_cast<size_t>(o.num_prompts));
  std::mutex mutex;
  std::condition_variable slot_free;
  int in_flight = 0;
  std::vector<std::thread> threads;
  const auto start = clock_type::now();
  auto next_arrival = start;
  for (int i = 0; i < o.num_prompts; ++i) {
    const std::string prompt = o.prompts.empty()
                                   ? random_prompt(rng, o.prompt_words)
                                   : o.prompts[static_cast<size_t>(i) % o.prompts.size()];
    if (o.request_rate > 0) {
      next_arrival += std::chrono::duration_cast<clock_type::duration>(
          std::chrono::duration<double>(gap(rng)));
      std::this_thread::sleep_until(next_arrival);
    }
    {
      std::unique_lock lock(mutex);
      slot_free.wait(lock, [&] { return o.max_concurrency <= 0 || in_flight < o.max_concurrency; });
      ++in_flight;
    }
    threads.emplace_back([&, i, prompt] {
      results[static_cast<size_t>(i)] = one_request(o, prompt);
      std::lock_guard lock(mutex);
      --in_flight;
      slot_free.notify_one();
    });
  }
  for (auto& t : threads) t.join();
  const double duration_s = ms(clock_type::now() - start) / 1000.0;

  std::vector<double> ttft, itl, e2e;
  int64_t prompt_tokens = 0, output_tokens = 0;
  int completed = 0;
  std::string first_error;
  for (const auto& r : results) {
    if (!r.ok) {
      if (first_error.empty()) first_error = r.error;
      continue;
    }
    ++completed;
    ttft.push_back(r.ttft_ms);
    e2e.push_back(r.e2e_ms);
    itl.insert(itl.end(), r.itl_ms.begin(), r.itl_ms.end());
    prompt_tokens += r.prompt_tokens;
    output_tokens += r.output_tokens;
  }
  json out = {{"url", "http://" + o.host + ":" + std::to_string(o.port) + o.path},
              {"model", o.model},
              {"num_prompts", o.num_prompts},
              {"request_rate", o.request_rate > 0 ? json(o.request_rate) : json("inf")},
              {"max_concurrency", o.max_concurrency > 0 ? json(o.max_concurrency) : json(nullptr)},
              {"completed", completed},
              {"failed", o.num_prompts - completed},
              {"duration_s", duration_s},
              {"requests_per_s", completed / duration_s},
              {"input_tokens", prompt_tokens},
              {"output_tokens", output_tokens},
              {"output_tokens_per_s", double(output_tokens) / duration_s},
              {"total_tokens_per_s", double(prompt_tokens + output_tokens) / duration_s},
              {"ttft_ms", percentiles(ttft)},
              {"itl_ms", percentiles(itl)},
              {"e2e_ms", percentiles(e2e)}};
  if (!first_error.empty()) out["first_error"] = first_error;
  return out;
}

}  // namespace alisa::cluster
