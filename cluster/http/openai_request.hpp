#pragma once
// openai_request — the body of POST /v1/completions and /v1/chat/completions, parsed and checked
// the way OpenAI's API checks it: every field a client may send is read with its type checked,
// every value range-checked, and anything alisa cannot honour (n > 1, several prompts, echo with
// logprobs …) refused with the field named. Nothing here runs a job.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "cluster/http/chat_template.hpp"
#include "proto/sampling_params.hpp"

namespace alisa::cluster {

// An OpenAI-style error: {"error": {"message", "type", "param", "code"}} with an HTTP status.
struct api_error {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // the offending field, or empty
  std::string code;   // e.g. model_not_found, context_length_exceeded
};

// An error with its status, message and type (param and code empty).
api_error make_api_error(int status, std::string message, std::string type);

enum class api_endpoint { completions, chat_completions };

// What the server knows before it parses a request.
struct request_limits {
  std::string served_model;     // the only model name accepted (absent `model` means it)
  int context_length = 0;       // the model's context, in tokens
  int default_max_tokens = 16;  // OpenAI's default for completions when max_tokens is absent
};

struct generation_request {
  api_endpoint endpoint = api_endpoint::completions;
  std::string model;
  // completions: the prompt as text, or as token ids (then prompt_text is empty)
  std::string prompt_text;
  std::vector<int32_t> prompt_ids;
  std::vector<chat_message> messages;  // chat: the conversation, in order
  sampling_params sampling;
  bool max_tokens_given = false;
  bool seed_given = false;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool echo = false;           // completions: the prompt text precedes the completion
  // alisa's extra fields: this request's attention policy and KV sparsity ("" / < 0 = the
  // server's), checked here for name and range, and by the engine against its KV policy.
  std::string attention;
  float kv_sparsity = -1.0f;
};

// Parses and checks a request body. The error names the field and the rule it broke.
std::variant<generation_request, api_error> parse_generation_request(std::string_view body,
                                                                     api_endpoint endpoint,
                                                                     const request_limits& limits);

}  // namespace alisa::cluster
