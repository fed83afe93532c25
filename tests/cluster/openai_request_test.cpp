// Parsing OpenAI request bodies: the fields alisa reads, their defaults, and the errors that
// name the field (the HTTP-level matrix is in serve_test.cpp).
#include "cluster/http/openai_request.hpp"

#include <gtest/gtest.h>

namespace alisa::cluster {
namespace {

request_limits limits() {
  request_limits l;
  l.served_model = "m";
  l.context_length = 512;
  return l;
}

generation_request ok(const std::string& body, api_endpoint e = api_endpoint::completions) {
  auto r = parse_generation_request(body, e, limits());
  if (auto* err = std::get_if<api_error>(&r)) ADD_FAILURE() << err->message;
  return std::get_if<generation_request>(&r) ? std::get<generation_request>(r) : generation_request{};
}

api_error bad(const std::string& body, api_endpoint e = api_endpoint::completions) {
  auto r = parse_generation_request(body, e, limits());
  if (std::holds_alternative<generation_request>(r)) ADD_FAILURE() << "accepted: " << body;
  return std::get_if<api_error>(&r) ? std::get<api_error>(r) : api_error{};
}

TEST(OpenAiRequest, ReadsEverySamplingField) {
  const auto r = ok(R"({"model": "m", "prompt": "hi", "max_tokens": 7, "temperature": 0.5,
      "top_p": 0.9, "top_k": 4, "min_p": 0.05, "seed": 11, "stop": ["x", "y"],
      "presence_penalty": 0.1, "frequency_penalty": 0.2, "repetition_penalty": 1.1,
      "logprobs": 2, "stream": true, "stream_options": {"include_usage": true}})");
  EXPECT_EQ(r.prompt_text, "hi");
  EXPECT_EQ(r.sampling.max_tokens, 7);
  EXPECT_FLOAT_EQ(r.sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(r.sampling.top_p, 0.9f);
  EXPECT_EQ(r.sampling.top_k, 4);
  EXPECT_FLOAT_EQ(r.sampling.min_p, 0.05f);
  EXPECT_EQ(r.sampling.seed, 11u);
  EXPECT_EQ(r.sampling.stop, (std::vector<std::string>{"x", "y"}));
  EXPECT_FLOAT_EQ(r.sampling.presence_penalty, 0.1f);
  EXPECT_FLOAT_EQ(r.sampling.frequency_penalty, 0.2f);
  EXPECT_FLOAT_EQ(r.sampling.repetition_penalty, 1.1f);
  EXPECT_TRUE(r.sampling.logprobs);
  EXPECT_EQ(r.sampling.top_logprobs, 2);
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
}

TEST(OpenAiRequest, DefaultsFollowOpenAi) {
  const auto r = ok(R"({"prompt": [1, 2, 3]})");
  EXPECT_EQ(r.model, "m") << "an absent model means the served one";
  EXPECT_EQ(r.prompt_ids, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(r.sampling.max_tokens, 16);
  EXPECT_FLOAT_EQ(r.sampling.temperature, 1.0f);
  EXPECT_FALSE(r.seed_given);
  EXPECT_FALSE(r.stream);
  EXPECT_EQ(ok(R"({"prompt": "a", "top_k": -1})").sampling.top_k, 0) << "-1 means off";
  EXPECT_EQ(ok(R"({"prompt": ["one"]})").prompt_text, "one");
}

TEST(OpenAiRequest, ChatReadsMessagesAndTextParts) {
  const auto r = ok(R"({"messages": [{"role": "developer", "content": "s"},
      {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}],
      "max_completion_tokens": 5, "logprobs": true, "top_logprobs": 2})",
                    api_endpoint::chat_completions);
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[1].content, "ab");
  EXPECT_EQ(r.sampling.max_tokens, 5);
  EXPECT_EQ(r.sampling.top_logprobs, 2);
}

TEST(OpenAiRequest, ErrorsNameTheFieldAndTheRule) {
  EXPECT_EQ(bad(R"({"prompt": "a", "temperature": "x"})").param, "temperature");
  EXPECT_EQ(bad(R"({"prompt": "a", "max_tokens": 600})").code, "context_length_exceeded");
  EXPECT_EQ(bad(R"({"model": "other", "prompt": "a"})").code, "model_not_found");
  EXPECT_EQ(bad(R"({"prompt": "a", "n": 3})").param, "n");
  EXPECT_EQ(bad(R"({"prompt": "a", "echo": true, "logprobs": 1})").param, "echo");
  EXPECT_EQ(bad("nope").message, "the request body is not valid JSON");
  EXPECT_EQ(bad(R"({"messages": [{"role": "user"}, 5]})", api_endpoint::chat_completions).param,
            "messages[1]");
}

}  // namespace
}  // namespace alisa::cluster
