// `alisa serve` over real HTTP on loopback: OpenAI's request and response shapes, streaming,
// stop strings, seeded sampling, usage, logprobs, the bad-request matrix, many concurrent
// streams, a client that hangs up, and /metrics parsed by the Prometheus client library's parser.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <future>
#include <thread>

#include "tests/support/serve_process.hpp"

namespace alisa::testing {
namespace {

using json = nlohmann::json;

// The built-in stories260K, greedy, as `alisa run` produces it.
json run_json(const std::string& prompt, int max_tokens) {
  child_process run({"run", "--prompt", prompt, "--max-tokens", std::to_string(max_tokens), "--json"});
  if (run.wait(std::chrono::seconds(120)) != 0) return nullptr;
  return json::parse(run.out(), nullptr, false);
}

class ServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new serve_process({"--max-pending", "96", "--max-body-bytes", "65536"});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(server_->ready()) << server_->log(); }
  static serve_process* server_;
};
serve_process* ServeTest::server_ = nullptr;

std::string streamed_text(const std::vector<std::string>& events, bool chat) {
  std::string text;
  for (const auto& e : events) {
    if (e == "[DONE]") break;
    const json chunk = json::parse(e, nullptr, false);
    if (chunk.is_discarded() || !chunk.contains("choices") || chunk["choices"].empty()) continue;
    const json& choice = chunk["choices"][0];
    if (chat) {
      if (choice["delta"].contains("content")) text += choice["delta"]["content"].get<std::string>();
    } else {
      text += choice["text"].get<std::string>();
    }
  }
  return text;
}

TEST_F(ServeTest, GreedyCompletionThroughHttpEqualsAlisaRun) {
  const json ran = run_json("Once upon a time", 40);
  ASSERT_TRUE(ran.is_object());
  auto [status, body] = server_->post(
      "/v1/completions", json{{"model", "stories260K"}, {"prompt", "Once upon a time"},
                              {"max_tokens", 40}, {"temperature", 0}});
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_EQ(body["object"], "text_completion");
  EXPECT_EQ(body["choices"][0]["text"], ran["text"]);
  EXPECT_EQ(body["usage"]["prompt_tokens"], ran["num_prompt_tokens"]);
  EXPECT_EQ(body["usage"]["completion_tokens"], ran["num_generated_tokens"]);
  EXPECT_EQ(body["usage"]["total_tokens"].get<int>(),
            ran["num_prompt_tokens"].get<int>() + ran["num_generated_tokens"].get<int>());
  EXPECT_EQ(body["choices"][0]["finish_reason"], "length");
}

TEST_F(ServeTest, PerRequestAttentionEqualsTheSameAttentionOnTheCommandLine) {
  child_process run({"run", "--prompt", "Once upon a time", "--max-tokens", "60", "--attention",
                     "swa", "--kv-sparsity", "0.8", "--json"});
  ASSERT_EQ(run.wait(std::chrono::seconds(120)), 0) << run.err();
  const json ran = json::parse(run.out());
  auto [status, body] = server_->post(
      "/v1/completions", json{{"prompt", "Once upon a time"}, {"max_tokens", 60}, {"temperature", 0},
                              {"attention", "swa"}, {"kv_sparsity", 0.8}});
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_EQ(body["choices"][0]["text"], ran["text"]);
  auto [dense_status, dense] = server_->post(
      "/v1/completions", json{{"prompt", "Once upon a time"}, {"max_tokens", 60}, {"temperature", 0}});
  ASSERT_EQ(dense_status, 200);
  EXPECT_NE(dense["choices"][0]["text"], ran["text"]) << "S = 0.8 changes this story";
}

TEST_F(ServeTest, ChatCompletionAnswersAsTheAssistant) {
  auto [status, body] = server_->post(
      "/v1/chat/completions",
      json{{"model", "stories260K"},
           {"messages", json::array({{{"role", "system"}, {"content", "Tell stories."}},
                                     {{"role", "user"}, {"content", "Once upon a time"}}})},
           {"max_tokens", 20}, {"temperature", 0}});
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["choices"][0]["message"]["role"], "assistant");
  EXPECT_FALSE(body["choices"][0]["message"]["content"].get<std::string>().empty());
  EXPECT_EQ(body["usage"]["completion_tokens"], 20);
}

TEST_F(ServeTest, StreamingCompletionSendsTheSameTextThenUsageThenDone) {
  const json request = {{"prompt", "Once upon a time"}, {"max_tokens", 30}, {"temperature", 0}};
  auto [status, whole] = server_->post("/v1/completions", request);
  ASSERT_EQ(status, 200);
  json streaming = request;
  streaming["stream"] = true;
  streaming["stream_options"] = {{"include_usage", true}};
  const auto events = server_->stream("/v1/completions", streaming);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_EQ(streamed_text(events, false), whole["choices"][0]["text"]);
  const json usage = json::parse(events[events.size() - 2]);
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"], whole["usage"]);
  const json last_choice = json::parse(events[events.size() - 3]);
  EXPECT_EQ(last_choice["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(last_choice["object"], "text_completion");
}

TEST_F(ServeTest, StreamingChatStartsWithTheRoleAndEndsWithDone) {
  const auto events = server_->stream(
      "/v1/chat/completions",
      json{{"messages", json::array({{{"role", "user"}, {"content", "Hi"}}})},
           {"max_tokens", 12}, {"temperature", 0}, {"stream", true}});
  ASSERT_GE(events.size(), 3u);
  const json first = json::parse(events.front());
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_FALSE(streamed_text(events, true).empty());
}

TEST_F(ServeTest, AStopStringEndsTheTextBeforeIt) {
  const json ran = run_json("Once upon a time", 60);
  const std::string full = ran["text"];
  const size_t cut = full.find("Lily");
  ASSERT_NE(cut, std::string::npos) << "the greedy story names Lily: " << full;
  auto [status, body] = server_->post(
      "/v1/completions", json{{"prompt", "Once upon a time"}, {"max_tokens", 60},
                              {"temperature", 0}, {"stop", json::array({"Lily"})}});
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_EQ(body["choices"][0]["text"], full.substr(0, cut));
  EXPECT_EQ(body["choices"][0]["finish_reason"], "stop");
}

TEST_F(ServeTest, TheSameSeedGivesTheSameSampledTextAndAnotherSeedAnother) {
  auto sample = [&](int seed) {
    auto [status, body] = server_->post(
        "/v1/completions", json{{"prompt", "Once upon a time"}, {"max_tokens", 40},
                                {"temperature", 1.0}, {"top_p", 0.95}, {"seed", seed}});
    EXPECT_EQ(status, 200) << body.dump();
    return body["choices"][0]["text"].get<std::string>();
  };
  const std::string a = sample(7);
  EXPECT_EQ(sample(7), a);
  EXPECT_NE(sample(8), a);
}

TEST_F(ServeTest, LogprobsCoverEveryTokenWithTheAskedAlternatives) {
  auto [status, body] = server_->post(
      "/v1/chat/completions",
      json{{"messages", json::array({{{"role", "user"}, {"content", "Once"}}})},
           {"max_tokens", 8}, {"temperature", 0}, {"logprobs", true}, {"top_logprobs", 3}});
  ASSERT_EQ(status, 200) << body.dump();
  const json& content = body["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), 8u);
  std::string joined;
  for (const auto& t : content) {
    EXPECT_LE(t["logprob"].get<double>(), 0.0);
    ASSERT_EQ(t["top_logprobs"].size(), 3u);
    // Greedy: the chosen token is the most likely one.
    EXPECT_DOUBLE_EQ(t["top_logprobs"][0]["logprob"].get<double>(), t["logprob"].get<double>());
    joined += t["token"].get<std::string>();
  }
  EXPECT_EQ(joined, body["choices"][0]["message"]["content"]);
}

TEST_F(ServeTest, ModelsHealthAndUnknownRoutes) {
  auto c = server_->client();
  auto models = c.Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(models->status, 200);
  const json list = json::parse(models->body);
  EXPECT_EQ(list["object"], "list");
  EXPECT_EQ(list["data"][0]["id"], "stories260K");
  EXPECT_EQ(list["data"][0]["max_model_len"], 512);
  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto missing = c.Get("/v1/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_TRUE(json::parse(missing->body)["error"].contains("message"));
}

struct bad_case {
  const char* name;
  const char* path;
  std::string body;
  int status;
  const char* param;  // expected error.param ("" = not checked)
};

TEST_F(ServeTest, EveryBadRequestGetsItsStatusAndAnOpenAiErrorAndTheServerKeepsServing) {
  const std::string c = "/v1/completions", chat = "/v1/chat/completions";
  const std::vector<bad_case> cases = {
      {"malformed JSON", c.c_str(), "{\"prompt\": ", 400, ""},
      {"not an object", c.c_str(), "[1, 2]", 400, ""},
      {"empty body", c.c_str(), "", 400, ""},
      {"no prompt", c.c_str(), R"({"max_tokens": 4})", 400, "prompt"},
      {"prompt a number", c.c_str(), R"({"prompt": 5})", 400, "prompt"},
      {"several prompts", c.c_str(), R"({"prompt": ["a", "b"]})", 400, "prompt"},
      {"negative token id", c.c_str(), R"({"prompt": [1, -4]})", 400, "prompt"},
      {"token id outside the vocabulary", c.c_str(), R"({"prompt": [1, 99999]})", 400, ""},
      {"unknown model", c.c_str(), R"({"model": "gpt-9", "prompt": "a"})", 400, "model"},
      {"model a number", c.c_str(), R"({"model": 3, "prompt": "a"})", 400, "model"},
      {"max_tokens a string", c.c_str(), R"({"prompt": "a", "max_tokens": "9"})", 400, "max_tokens"},
      {"max_tokens negative", c.c_str(), R"({"prompt": "a", "max_tokens": -1})", 400, "max_tokens"},
      {"max_tokens past the context", c.c_str(), R"({"prompt": "a", "max_tokens": 100000})", 400, "max_tokens"},
      {"max_tokens fractional", c.c_str(), R"({"prompt": "a", "max_tokens": 2.5})", 400, "max_tokens"},
      {"prompt plus max_tokens past the context", c.c_str(), R"({"prompt": "a", "max_tokens": 511})", 400, "max_tokens"},
      {"temperature a string", c.c_str(), R"({"prompt": "a", "temperature": "hot"})", 400, "temperature"},
      {"temperature above 2", c.c_str(), R"({"prompt": "a", "temperature": 3})", 400, "temperature"},
      {"top_p zero", c.c_str(), R"({"prompt": "a", "top_p": 0})", 400, "top_p"},
      {"top_k below -1", c.c_str(), R"({"prompt": "a", "top_k": -3})", 400, "top_k"},
      {"min_p above 1", c.c_str(), R"({"prompt": "a", "min_p": 1.5})", 400, "min_p"},
      {"presence_penalty out of range", c.c_str(), R"({"prompt": "a", "presence_penalty": 9})", 400, "presence_penalty"},
      {"frequency_penalty a bool", c.c_str(), R"({"prompt": "a", "frequency_penalty": true})", 400, "frequency_penalty"},
      {"repetition_penalty zero", c.c_str(), R"({"prompt": "a", "repetition_penalty": 0})", 400, "repetition_penalty"},
      {"n above 1", c.c_str(), R"({"prompt": "a", "n": 2})", 400, "n"},
      {"stop too many", c.c_str(), R"({"prompt": "a", "stop": ["a","b","c","d","e"]})", 400, "stop"},
      {"stop empty", c.c_str(), R"({"prompt": "a", "stop": ""})", 400, "stop"},
      {"seed a string", c.c_str(), R"({"prompt": "a", "seed": "x"})", 400, "seed"},
      {"stream a string", c.c_str(), R"({"prompt": "a", "stream": "yes"})", 400, "stream"},
      {"stream_options without stream", c.c_str(), R"({"prompt": "a", "stream_options": {"include_usage": true}})", 400, "stream_options"},
      {"logprobs above 5", c.c_str(), R"({"prompt": "a", "logprobs": 9})", 400, "logprobs"},
      {"no messages", chat.c_str(), R"({"max_tokens": 3})", 400, "messages"},
      {"empty messages", chat.c_str(), R"({"messages": []})", 400, "messages"},
      {"message without role", chat.c_str(), R"({"messages": [{"content": "x"}]})", 400, "messages[0].role"},
      {"unknown role", chat.c_str(), R"({"messages": [{"role": "robot", "content": "x"}]})", 400, "messages[0].role"},
      {"content a number", chat.c_str(), R"({"messages": [{"role": "user", "content": 4}]})", 400, "messages[0].content"},
      {"image content", chat.c_str(), R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})", 400, "messages[0].content"},
      {"top_logprobs without logprobs", chat.c_str(), R"({"messages": [{"role": "user", "content": "x"}], "top_logprobs": 2})", 400, "top_logprobs"},
      {"tools", chat.c_str(), R"({"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]})", 400, "tools"},
      {"unknown attention", c.c_str(), R"({"prompt": "a", "attention": "magic"})", 400, "attention"},
      {"kv_sparsity of 1", c.c_str(), R"({"prompt": "a", "kv_sparsity": 1.0})", 400, "kv_sparsity"},
      {"body over the size limit", c.c_str(), "{\"prompt\": \"" + std::string(70000, 'a') + "\"}", 413, ""},
  };
  ASSERT_GE(cases.size(), 25u);
  for (const auto& bad : cases) {
    auto [status, body] = server_->post(bad.path, bad.body);
    EXPECT_EQ(status, bad.status) << bad.name << ": " << body.dump();
    ASSERT_TRUE(body.is_object()) << bad.name << ": the error is not JSON";
    ASSERT_TRUE(body.contains("error")) << bad.name;
    EXPECT_FALSE(body["error"]["message"].get<std::string>().empty()) << bad.name;
    EXPECT_TRUE(body["error"]["type"].is_string()) << bad.name;
    if (*bad.param) {
      EXPECT_EQ(body["error"]["param"], bad.param) << bad.name << ": " << body.dump();
    }
    // The server keeps serving the next request.
    auto [ok, answer] = server_->post("/v1/completions", json{{"prompt", "a"}, {"max_tokens", 2}});
    ASSERT_EQ(ok, 200) << "after " << bad.name << ": " << answer.dump();
  }
}

TEST_F(ServeTest, SixtyFourConcurrentStreamingClientsAllGetTheirFullText) {
  const json request = {{"prompt", "Once upon a time"}, {"max_tokens", 24}, {"temperature", 0}};
  auto [status, whole] = server_->post("/v1/completions", request);
  ASSERT_EQ(status, 200);
  const std::string expected = whole["choices"][0]["text"];
  json streaming = request;
  streaming["stream"] = true;
  std::vector<std::future<std::vector<std::string>>> clients;
  for (int i = 0; i < 64; ++i)
    clients.push_back(std::async(std::launch::async, [&] {
      return server_->stream("/v1/completions", streaming);
    }));
  for (auto& c : clients) {
    const auto events = c.get();
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back(), "[DONE]");
    EXPECT_EQ(streamed_text(events, false), expected);
  }
}

// The text of /metrics, checked by the Prometheus Python client's parser: prints
// "name{labels} value" per sample, or fails.
std::string parse_metrics(const std::string& text, std::string& parsed) {
  const std::string path = std::filesystem::temp_directory_path() /
                           ("alisa_metrics_" + std::to_string(::getpid()) + ".txt");
  { std::ofstream(path) << text; }
  const std::string cmd =
      "/usr/bin/python3 -c \"import sys\nfrom prometheus_client.parser import text_string_to_metric_families as p\n"
      "for f in p(open(sys.argv[1]).read()):\n  for s in f.samples:\n"
      "    print(s.name, sorted(s.labels.items()), s.value)\" " + path + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return "cannot run /usr/bin/python3";
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) parsed.append(buf, n);
  const int rc = ::pclose(pipe);
  std::filesystem::remove(path);
  return rc == 0 ? "" : "the parser failed: " + parsed;
}

double sample_value(const std::string& parsed, const std::string& prefix) {
  const size_t at = parsed.find(prefix);
  if (at == std::string::npos) return -1;
  const size_t eol = parsed.find('\n', at);
  const std::string line = parsed.substr(at, eol - at);
  return std::stod(line.substr(line.rfind(' ') + 1));
}

TEST_F(ServeTest, MetricsParseAsPrometheusTextAndCountTheRequests) {
  server_->post("/v1/completions", json{{"prompt", "Once"}, {"max_tokens", 5}});
  auto c = server_->client();
  auto res = c.Get("/metrics");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  std::string parsed;
  const std::string error = parse_metrics(res->body, parsed);
  ASSERT_EQ(error, "") << res->body;
  EXPECT_GT(sample_value(parsed, "alisa:generation_tokens_total "), 4);
  EXPECT_GT(sample_value(parsed, "alisa:prompt_tokens_total "), 0);
  EXPECT_GT(sample_value(parsed, "alisa:e2e_request_latency_seconds_count "), 0);
  EXPECT_EQ(sample_value(parsed, "alisa:num_workers "), 1);
  EXPECT_NE(parsed.find("alisa:kv_bytes_resident"), std::string::npos);
}

TEST_F(ServeTest, AClientThatHangsUpCancelsItsJob) {
  auto metric = [&](const std::string& prefix) {
    auto c = server_->client();
    auto res = c.Get("/metrics");
    std::string parsed;
    if (!res || !parse_metrics(res->body, parsed).empty()) return -1.0;
    return sample_value(parsed, prefix);
  };
  const std::string aborted = "alisa:request_success_total [('finished_reason', 'abort'), ('model_name', 'stories260K')]";
  const double before = metric(aborted);
  int events = 0;
  server_->stream("/v1/completions",
                  json{{"prompt", "Once upon a time"}, {"max_tokens", 400}, {"temperature", 0},
                       {"ignore_eos", true}, {"stream", true}},
                  [&](const std::string&) { return ++events < 3; });
  EXPECT_EQ(events, 3);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (metric(aborted) <= before && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(metric(aborted), before + 1) << "the job was not cancelled";
  EXPECT_EQ(metric("alisa:num_requests_running "), 0);
}

// A raw TCP connection to 127.0.0.1:port (for clients that misbehave on purpose), or -1.
int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
  ::close(fd);
  return -1;
}

// A client of a non-streaming request that hangs up before the answer: its job is cancelled too.
TEST(ServeHangUp, ANonStreamingClientThatLeavesCancelsItsJob) {
  // Slow enough to leave mid-job: 1,500 tokens of a 15M-parameter model take seconds.
  serve_process server({"--model", "synthetic:stories15m", "--context", "2048"});
  ASSERT_TRUE(server.ready()) << server.log();
  const int fd = connect_loopback(server.port());
  ASSERT_GE(fd, 0);
  const std::string body = json{{"prompt", "Once upon a time"}, {"max_tokens", 1500},
                                {"ignore_eos", true}, {"temperature", 0}}.dump();
  const std::string request = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
                              "application/json\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  ::close(fd);
  std::string parsed;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  double aborted = 0;
  while (aborted < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto c = server.client();
    auto res = c.Get("/metrics");
    parsed.clear();
    if (res && parse_metrics(res->body, parsed).empty())
      aborted = sample_value(parsed, "alisa:request_success_total [('finished_reason', 'abort')");
  }
  EXPECT_EQ(aborted, 1) << parsed;
  EXPECT_LT(sample_value(parsed, "alisa:generation_tokens_total "), 1500) << "it ran to the end";
}

// A small device pool and a host tier: a long job's full blocks leave the device, and the tier
// counters of /metrics show it.
TEST(ServeTiers, TierCountersMoveWhenAJobOffloads) {
  serve_process server({"--device-kv-budget", "96KiB", "--host-kv-budget", "64MiB"});
  ASSERT_TRUE(server.ready()) << server.log();
  auto [status, body] = server.post(
      "/v1/completions", json{{"prompt", "Once upon a time"}, {"max_tokens", 300},
                              {"temperature", 0}, {"ignore_eos", true}});
  ASSERT_EQ(status, 200) << body.dump();
  auto c = server.client();
  auto res = c.Get("/metrics");
  ASSERT_TRUE(res);
  std::string parsed;
  ASSERT_EQ(parse_metrics(res->body, parsed), "") << res->body;
  EXPECT_GT(sample_value(parsed, "alisa:kv_bytes_written_total [('model_name', 'stories260K'), ('tier', 'host')]"), 0)
      << parsed;
}

// Two questions about one story: the second replays the story's blocks from the prefix cache
// (usage.prompt_tokens_details.cached_tokens, /metrics) and answers exactly as a cold `run`.
TEST(ServePrefixCache, TheSecondQuestionAboutADocumentReusesItsPrefix) {
  serve_process server({"--prefix-cache-budget", "64MiB"});
  ASSERT_TRUE(server.ready()) << server.log();
  std::string story;
  for (int i = 0; i < 6; ++i)
    story += "Once upon a time, there was a little girl named Lily. She liked to play in the park "
             "with her dog. ";
  const std::string second = story + "Then Tom said";
  auto ask = [&](const std::string& prompt) {
    return server.post("/v1/completions", json{{"prompt", prompt}, {"max_tokens", 24},
                                               {"temperature", 0}});
  };
  auto [s1, first] = ask(story + "One day");
  ASSERT_EQ(s1, 200) << first.dump();
  EXPECT_EQ(first["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
  auto [s2, reply] = ask(second);
  ASSERT_EQ(s2, 200) << reply.dump();
  EXPECT_GE(reply["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(), 128) << reply.dump();
  const json cold = run_json(second, 24);
  ASSERT_FALSE(cold.is_null());
  EXPECT_EQ(reply["choices"][0]["text"], cold["text"]);
  EXPECT_EQ(cold["cached_tokens"], 0);
  auto res = server.client().Get("/metrics");
  ASSERT_TRUE(res);
  const std::string host_hits =
      "alisa:prefix_cache_hit_tokens_total{model_name=\"stories260K\",tier=\"host\"} ";
  EXPECT_NE(res->body.find(host_hits), std::string::npos) << res->body;
  EXPECT_EQ(res->body.find(host_hits + "0\n"), std::string::npos) << "no hits counted";
  EXPECT_NE(res->body.find("alisa:prefix_cache_hit_tokens_total{model_name=\"stories260K\",tier=\"nvme\"} 0\n"),
            std::string::npos)
      << res->body;
}

}  // namespace
}  // namespace alisa::testing

namespace alisa::testing {
namespace {

// `cluster up` with no budget flags (sized from the machine) and --http: the OpenAI API in front
// of a coordinator, a worker and a memory node, each its own process.
TEST(ServeCluster, ClusterUpWithoutBudgetsServesTheApiOverTheCluster) {
  // Below Linux's ephemeral range (32768), above the other suites' (cluster_process.hpp: < 32000).
  const int base = 32000 + (::getpid() % 60) * 12;
  const int http = base + 10;
  child_process cluster({"cluster", "up", "--workers", "1", "--memory-nodes", "1", "--base-port",
                         std::to_string(base), "--http", std::to_string(http)});
  ASSERT_TRUE(cluster.wait_for_output("ready:", std::chrono::seconds(90))) << cluster.err();
  EXPECT_NE(cluster.out().find("http 127.0.0.1:" + std::to_string(http)), std::string::npos)
      << cluster.out();
  EXPECT_NE(cluster.err().find("no KV budgets given"), std::string::npos) << cluster.err();
  const json ran = run_json("Once upon a time", 24);
  httplib::Client c("127.0.0.1", http);
  c.set_read_timeout(60, 0);
  auto res = c.Post("/v1/completions",
                    json{{"prompt", "Once upon a time"}, {"max_tokens", 24}, {"temperature", 0}}.dump(),
                    "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body)["choices"][0]["text"], ran["text"]);
  auto models = c.Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(json::parse(models->body)["data"][0]["max_model_len"], 512)
      << "the context comes from the coordinator";
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("alisa:num_memory_nodes{model_name=\"stories260K\"} 1"), std::string::npos)
      << metrics->body;
  cluster.signal(SIGTERM);
  EXPECT_EQ(cluster.wait(std::chrono::seconds(30)), 0) << cluster.err();
}

TEST(ServeCli, LogLevelsAndShortBackendLines) {
  child_process plain({"run", "--prompt", "Once", "--max-tokens", "4"});
  ASSERT_EQ(plain.wait(std::chrono::seconds(60)), 0) << plain.err();
  EXPECT_EQ(plain.err().find("auto:"), std::string::npos) << "the backend's reason is a debug line: " << plain.err();
  child_process debug({"run", "--prompt", "Once", "--max-tokens", "4", "--log-level", "debug"});
  ASSERT_EQ(debug.wait(std::chrono::seconds(60)), 0) << debug.err();
  EXPECT_NE(debug.err().find("backend: "), std::string::npos) << debug.err();
  child_process quiet({"--log-level", "error", "run", "--prompt", "Once", "--max-tokens", "4"});
  ASSERT_EQ(quiet.wait(std::chrono::seconds(60)), 0) << quiet.err();
  EXPECT_EQ(quiet.err().find("stories260K"), std::string::npos) << "no model line at error: " << quiet.err();
  child_process bad({"run", "--log-level", "loud"});
  EXPECT_EQ(bad.wait(std::chrono::seconds(30)), 2);
  EXPECT_NE(bad.err().find("--log-level must be one of"), std::string::npos) << bad.err();
  child_process t({"run", "-t", "0.5"});
  EXPECT_EQ(t.wait(std::chrono::seconds(30)), 2) << "-t is not temperature any more";
}

// --max-pending 1: a second request while one streams is refused with 429 and Retry-After, and
// served again once the first ended.
TEST(ServeLimits, RequestsBeyondMaxPendingGet429WithRetryAfter) {
  serve_process server({"--max-pending", "1"});
  ASSERT_TRUE(server.ready()) << server.log();
  std::promise<void> first_token;
  auto first = std::async(std::launch::async, [&] {
    bool told = false;
    return server.stream("/v1/completions",
                         json{{"prompt", "Once"}, {"max_tokens", 300}, {"ignore_eos", true},
                              {"temperature", 0}, {"stream", true}},
                         [&](const std::string&) {
                           if (!told) first_token.set_value();
                           told = true;
                           return true;
                         });
  });
  first_token.get_future().wait();
  auto c = server.client();
  auto res = c.Post("/v1/completions", json{{"prompt", "a"}, {"max_tokens", 2}}.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429) << res->body;
  EXPECT_EQ(res->get_header_value("Retry-After"), "1");
  EXPECT_EQ(json::parse(res->body)["error"]["type"], "rate_limit_exceeded");
  EXPECT_EQ(first.get().back(), "[DONE]");
  // The place is freed when the job ends, before [DONE] is written; a retry (as Retry-After
  // asks) is served.
  auto again = c.Post("/v1/completions", json{{"prompt", "a"}, {"max_tokens", 2}}.dump(), "application/json");
  for (int retry = 0; retry < 20 && again && again->status == 429; ++retry) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    again = c.Post("/v1/completions", json{{"prompt", "a"}, {"max_tokens", 2}}.dump(), "application/json");
  }
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

// A client that sends half a request and stops (slowloris) is cut off after --read-timeout, and
// the server keeps answering others meanwhile.
TEST(ServeLimits, AStalledRequestIsCutOffAfterTheReadTimeout) {
  serve_process server({"--read-timeout", "1"});
  ASSERT_TRUE(server.ready()) << server.log();
  const int fd = connect_loopback(server.port());
  ASSERT_GE(fd, 0);
  const std::string partial = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n";
  ASSERT_GT(::send(fd, partial.data(), partial.size(), 0), 0);
  auto [status, body] = server.post("/v1/completions", json{{"prompt", "a"}, {"max_tokens", 2}});
  EXPECT_EQ(status, 200) << "others are served meanwhile";
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[256] = {};
  const auto start = std::chrono::steady_clock::now();
  const ssize_t n = ::recv(fd, buf, sizeof buf - 1, 0);  // a 400, or the connection closed
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ::close(fd);
  EXPECT_TRUE(n == 0 || (n > 0 && std::string(buf).rfind("HTTP/1.1 400", 0) == 0))
      << "the stalled request got neither a 400 nor a close: " << buf;
  EXPECT_LT(waited, 4.0) << "the stalled request was not cut off after the 1 s read timeout";
}

TEST(ServeCli, APortInUseFailsAtOnceNamingTheAddress) {
  serve_process first({});
  ASSERT_TRUE(first.ready()) << first.log();
  child_process second({"serve", "--port", std::to_string(first.port())});
  EXPECT_EQ(second.wait(std::chrono::seconds(30)), 1);
  EXPECT_NE(second.err().find("cannot listen on 127.0.0.1:" + std::to_string(first.port())),
            std::string::npos) << second.err();
}

TEST(ServeCli, BenchServeMeasuresAnOpenAiServer) {
  serve_process server({});
  ASSERT_TRUE(server.ready()) << server.log();
  child_process bench({"bench", "serve", "--url", "http://127.0.0.1:" + std::to_string(server.port()),
                       "--num-prompts", "8", "--max-concurrency", "4", "--prompt-len", "8",
                       "--output-len", "12", "--json"});
  ASSERT_EQ(bench.wait(std::chrono::seconds(120)), 0) << bench.err();
  const json r = json::parse(bench.out(), nullptr, false);
  ASSERT_TRUE(r.is_object()) << bench.out();
  EXPECT_EQ(r["completed"], 8);
  EXPECT_EQ(r["failed"], 0);
  EXPECT_EQ(r["output_tokens"], 8 * 12);
  EXPECT_GT(r["ttft_ms"]["p50"].get<double>(), 0.0);
  EXPECT_GT(r["itl_ms"]["p50"].get<double>(), 0.0);
  EXPECT_GT(r["output_tokens_per_s"].get<double>(), 0.0);
  EXPECT_EQ(r["model"], "stories260K");
}

}  // namespace
}  // namespace alisa::testing
