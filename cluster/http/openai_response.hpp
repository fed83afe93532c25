#pragma once
// openai_response — the JSON alisa answers with, shaped exactly like OpenAI's so official clients
// parse it unchanged: text_completion / chat.completion objects, their streamed chunks
// (text_completion / chat.completion.chunk) and the usage block.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cluster/http/openai_request.hpp"
#include "proto/messages.hpp"

namespace alisa::cluster {

// OpenAI's finish_reason for alisa's (eos and stop strings are "stop"; the token limit and a
// full context are "length").
std::string_view openai_finish_reason(std::string_view alisa_reason);

nlohmann::json error_json(const api_error& e);

struct usage_counts {
  int prompt_tokens = 0;
  int completion_tokens = 0;
  int cached_tokens = 0;  // of prompt_tokens, replayed from the prefix cache
};

// Builds one request's answers; id and created are fixed at construction.
class response_builder {
 public:
  response_builder(api_endpoint endpoint, std::string model, bool logprobs);

  const std::string& id() const { return id_; }
  // Streaming: the chunk announcing the assistant role (chat only; empty for completions).
  std::string role_chunk() const;
  // Streaming: a chunk carrying text (and, when asked, its tokens' logprobs).
  std::string text_chunk(std::string_view text, const std::vector<token_logprob>& logprobs) const;
  // Streaming: the last choice chunk, with the finish reason and no text.
  std::string finish_chunk(std::string_view finish_reason) const;
  // Streaming with include_usage: the chunk with empty choices and the usage.
  std::string usage_chunk(const usage_counts& usage) const;
  // Not streaming: the whole answer.
  nlohmann::json complete(std::string_view text, const std::vector<token_logprob>& logprobs,
                          std::string_view finish_reason, const usage_counts& usage) const;

 private:
  nlohmann::json envelope(bool chunk) const;
  nlohmann::json logprobs_json(const std::vector<token_logprob>& logprobs) const;

  api_endpoint endpoint_;
  std::string model_;
  bool logprobs_;
  std::string id_;
  int64_t created_;
};

// "data: <json>\n\n", one Server-Sent Event.
std::string sse_event(std::string_view payload);

}  // namespace alisa::cluster
