#include "cluster/http/openai_response.hpp"

#include <chrono>
#include <cstdio>
#include <random>

namespace alisa::cluster {
namespace {

using json = nlohmann::json;

std::string random_hex(int digits) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string out;
  while (static_cast<int>(out.size()) < digits) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
    out += buf;
  }
  out.resize(static_cast<size_t>(digits));
  return out;
}

json usage_json(const usage_counts& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
}

// Token text may end inside a UTF-8 sequence: JSON strings must be valid UTF-8, so invalid bytes
// become U+FFFD here (the bytes field keeps them exactly).
std::string printable(const std::string& s) {
  return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

json bytes_json(const std::string& s) {
  json out = json::array();
  for (unsigned char c : s) out.push_back(static_cast<int>(c));
  return out;
}

}  // namespace

std::string_view openai_finish_reason(std::string_view r) {
  if (r == "eos" || r == "stop") return "stop";
  if (r == "cancelled") return "abort";
  return "length";
}

json error_json(const api_error& e) {
  json err = {{"message", e.message}, {"type", e.type}};
  err["param"] = e.param.empty() ? json(nullptr) : json(e.param);
  err["code"] = e.code.empty() ? json(nullptr) : json(e.code);
  return {{"error", err}};
}

std::string sse_event(std::string_view payload) {
  std::string out = "data: ";
  out.append(payload);
  out += "\n\n";
  return out;
}

response_builder::response_builder(api_endpoint endpoint, std::string model, bool logprobs)
    : endpoint_(endpoint),
      model_(std::move(model)),
      logprobs_(logprobs),
      id_((endpoint == api_endpoint::chat_completions ? "chatcmpl-" : "cmpl-") + random_hex(24)),
      created_(std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count()) {}

json response_builder::envelope(bool chunk) const {
  const bool chat = endpoint_ == api_endpoint::chat_completions;
  return {{"id", id_},
          {"object", chat ? (chunk ? "chat.completion.chunk" : "chat.completion")
                          : "text_completion"},
          {"created", created_},
          {"model", model_},
          {"system_fingerprint", "alisa"}};
}

// chat: {"content": [{token, logprob, bytes, top_logprobs: [...]}]};
// completions: {tokens, token_logprobs, top_logprobs: [{text: logprob}], text_offset}.
json response_builder::logprobs_json(const std::vector<token_logprob>& lps) const {
  if (!logprobs_) return nullptr;
  if (endpoint_ == api_endpoint::chat_completions) {
    json content = json::array();
    for (const auto& t : lps) {
      json top = json::array();
      for (size_t i = 0; i < t.top_ids.size(); ++i)
        top.push_back({{"token", json::parse(printable(t.top_texts[i]))},
                       {"logprob", t.top_logprobs[i]},
                       {"bytes", bytes_json(t.top_texts[i])}});
      content.push_back({{"token", json::parse(printable(t.text))},
                         {"logprob", t.logprob},
                         {"bytes", bytes_json(t.text)},
                         {"top_logprobs", top}});
    }
    return {{"content", content}};
  }
  json tokens = json::array(), values = json::array(), tops = json::array(),
       offsets = json::array();
  size_t offset = 0;
  for (const auto& t : lps) {
    tokens.push_back(json::parse(printable(t.text)));
    values.push_back(t.logprob);
    json top = json::object();
    for (size_t i = 0; i < t.top_ids.size(); ++i)
      top[json::parse(printable(t.top_texts[i])).get<std::string>()] = t.top_logprobs[i];
    tops.push_back(top);
    offsets.push_back(offset);
    offset += t.text.size();
  }
  return {{"tokens", tokens}, {"token_logprobs", values}, {"top_logprobs", tops},
          {"text_offset", offsets}};
}

std::string response_builder::role_chunk() const {
  if (endpoint_ != api_endpoint::chat_completions) return {};
  json out = envelope(true);
  out["choices"] = json::array({{{"index", 0},
                                 {"delta", {{"role", "assistant"}, {"content", ""}}},
                                 {"logprobs", nullptr},
                                 {"finish_reason", nullptr}}});
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string response_builder::text_chunk(std::string_view text,
                                         const std::vector<token_logprob>& logprobs) const {
  json out = envelope(true);
  json choice = {{"index", 0}, {"logprobs", logprobs_json(logprobs)}, {"finish_reason", nullptr}};
  if (endpoint_ == api_endpoint::chat_completions)
    choice["delta"] = {{"content", std::string(text)}};
  else
    choice["text"] = std::string(text);
  out["choices"] = json::array({choice});
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string response_builder::finish_chunk(std::string_view finish_reason) const {
  json out = envelope(true);
  json choice = {{"index", 0},
                 {"logprobs", nullptr},
                 {"finish_reason", std::string(openai_finish_reason(finish_reason))}};
  if (endpoint_ == api_endpoint::chat_completions)
    choice["delta"] = json::object();
  else
    choice["text"] = "";
  out["choices"] = json::array({choice});
  return out.dump();
}

std::string response_builder::usage_chunk(const usage_counts& usage) const {
  json out = envelope(true);
  out["choices"] = json::array();
  out["usage"] = usage_json(usage);
  return out.dump();
}

json response_builder::complete(std::string_view text, const std::vector<token_logprob>& logprobs,
                                std::string_view finish_reason, const usage_counts& usage) const {
  json out = envelope(false);
  json choice = {{"index", 0},
                 {"logprobs", logprobs_json(logprobs)},
                 {"finish_reason", std::string(openai_finish_reason(finish_reason))}};
  if (endpoint_ == api_endpoint::chat_completions)
    choice["message"] = {{"role", "assistant"}, {"content", std::string(text)}};
  else
    choice["text"] = std::string(text);
  out["choices"] = json::array({choice});
  out["usage"] = usage_json(usage);
  return out;
}

}  // namespace alisa::cluster
