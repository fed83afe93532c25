#include "cluster/http/openai_request.hpp"

#include <cmath>
#include <limits>
#include <random>

#include <nlohmann/json.hpp>

namespace alisa::cluster {
namespace {

using json = nlohmann::json;

api_error bad(std::string param, std::string message) {
  api_error e;
  e.param = std::move(param);
  e.message = std::move(message);
  return e;
}

// Reads an optional field: absent or null leaves `out` unchanged. Each reader checks the JSON
// type before converting, so a wrong type is a 400 naming the field, never an exception.
std::optional<api_error> read_number(const json& body, const char* key, double& out) {
  if (!body.contains(key) || body[key].is_null()) return std::nullopt;
  if (!body[key].is_number()) return bad(key, std::string(key) + " must be a number");
  out = body[key].get<double>();
  if (!std::isfinite(out)) return bad(key, std::string(key) + " must be finite");
  return std::nullopt;
}

std::optional<api_error> read_integer(const json& body, const char* key, int64_t& out) {
  if (!body.contains(key) || body[key].is_null()) return std::nullopt;
  const auto& v = body[key];
  if (v.is_number_integer()) {
    out = v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX) ? INT64_MAX
                                                                           : v.get<int64_t>();
    return std::nullopt;
  }
  // 3.0 is an integer to JSON's users; 3.5 is not.
  if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>() &&
      std::abs(v.get<double>()) < 9e18) {
    out = static_cast<int64_t>(v.get<double>());
    return std::nullopt;
  }
  return bad(key, std::string(key) + " must be an integer");
}

std::optional<api_error> read_bool(const json& body, const char* key, bool& out) {
  if (!body.contains(key) || body[key].is_null()) return std::nullopt;
  if (!body[key].is_boolean()) return bad(key, std::string(key) + " must be a boolean");
  out = body[key].get<bool>();
  return std::nullopt;
}

std::optional<api_error> in_range(const char* key, double v, double lo, double hi) {
  if (v < lo || v > hi)
    return bad(key, std::string(key) + " must be in [" + json(lo).dump() + ", " + json(hi).dump() +
                        "], got " + json(v).dump());
  return std::nullopt;
}

// `stop`: a string or an array of at most 4 non-empty strings.
std::optional<api_error> read_stop(const json& body, std::vector<std::string>& out) {
  if (!body.contains("stop") || body["stop"].is_null()) return std::nullopt;
  const auto& v = body["stop"];
  if (v.is_string()) {
    if (v.get<std::string>().empty()) return bad("stop", "stop must not be an empty string");
    out.push_back(v.get<std::string>());
    return std::nullopt;
  }
  if (!v.is_array()) return bad("stop", "stop must be a string or an array of strings");
  if (v.size() > 4) return bad("stop", "stop takes at most 4 sequences");
  for (const auto& s : v) {
    if (!s.is_string() || s.get<std::string>().empty())
      return bad("stop", "every stop sequence must be a non-empty string");
    out.push_back(s.get<std::string>());
  }
  return std::nullopt;
}

// Message content: a string, or OpenAI's array of parts of which alisa reads the text ones.
std::optional<api_error> read_content(const json& m, size_t index, std::string& out) {
  const std::string param = "messages[" + std::to_string(index) + "].content";
  if (!m.contains("content") || m["content"].is_null()) return std::nullopt;  // e.g. tool calls
  const auto& c = m["content"];
  if (c.is_string()) {
    out = c.get<std::string>();
    return std::nullopt;
  }
  if (!c.is_array()) return bad(param, param + " must be a string or an array of content parts");
  for (const auto& part : c) {
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
      return bad(param, param + " parts must be objects with a type");
    if (part["type"] != "text")
      return bad(param, "content part type '" + part["type"].get<std::string>() +
                            "' is not supported (this model reads text only)");
    if (!part.contains("text") || !part["text"].is_string())
      return bad(param, param + " text parts need a string text");
    out += part["text"].get<std::string>();
  }
  return std::nullopt;
}

std::optional<api_error> read_messages(const json& body, std::vector<chat_message>& out) {
  if (!body.contains("messages")) return bad("messages", "messages is required");
  const auto& v = body["messages"];
  if (!v.is_array()) return bad("messages", "messages must be an array");
  if (v.empty()) return bad("messages", "messages must not be empty");
  for (size_t i = 0; i < v.size(); ++i) {
    const auto& m = v[i];
    const std::string param = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return bad(param, param + " must be an object");
    if (!m.contains("role") || !m["role"].is_string())
      return bad(param + ".role", param + ".role must be a string");
    chat_message msg;
    msg.role = m["role"].get<std::string>();
    if (msg.role == "developer") msg.role = "system";  // OpenAI's newer name for it
    if (msg.role != "system" && msg.role != "user" && msg.role != "assistant")
      return bad(param + ".role", "role '" + msg.role +
                                      "' is not supported (system, developer, user, assistant)");
    if (auto e = read_content(m, i, msg.content)) return e;
    out.push_back(std::move(msg));
  }
  return std::nullopt;
}

// `prompt`: a string, an array of token ids, or an array holding one of either.
std::optional<api_error> read_prompt(const json& body, generation_request& r) {
  if (!body.contains("prompt")) return bad("prompt", "prompt is required");
  const json* p = &body["prompt"];
  if (p->is_array() && p->size() == 1 && ((*p)[0].is_string() || (*p)[0].is_array())) p = &(*p)[0];
  if (p->is_string()) {
    r.prompt_text = p->get<std::string>();
    return std::nullopt;
  }
  if (!p->is_array())
    return bad("prompt", "prompt must be a string or an array of token ids");
  if (p->empty()) return bad("prompt", "prompt must not be empty");
  for (const auto& t : *p) {
    if (t.is_string() || t.is_array())
      return bad("prompt", "several prompts in one request are not supported; send one per request");
    if (!t.is_number_integer() || t.get<int64_t>() < 0 ||
        t.get<int64_t>() > std::numeric_limits<int32_t>::max())
      return bad("prompt", "prompt token ids must be non-negative integers");
    r.prompt_ids.push_back(static_cast<int32_t>(t.get<int64_t>()));
  }
  return std::nullopt;
}

std::optional<api_error> read_model(const json& body, const request_limits& limits,
                                    generation_request& r) {
  r.model = limits.served_model;
  if (!body.contains("model") || body["model"].is_null()) return std::nullopt;
  if (!body["model"].is_string()) return bad("model", "model must be a string");
  r.model = body["model"].get<std::string>();
  if (r.model != limits.served_model) {
    auto e = bad("model", "the model '" + r.model + "' does not exist; this server serves '" +
                              limits.served_model + "'");
    e.code = "model_not_found";
    return e;
  }
  return std::nullopt;
}

// Only what alisa can honour: one choice per request.
std::optional<api_error> read_unsupported(const json& body) {
  int64_t n = 1;
  if (auto e = read_integer(body, "n", n)) return e;
  if (n != 1) return bad("n", "n must be 1: alisa returns one choice per request");
  int64_t best_of = 1;
  if (auto e = read_integer(body, "best_of", best_of)) return e;
  if (best_of != 1) return bad("best_of", "best_of must be 1");
  if (body.contains("suffix") && !body["suffix"].is_null())
    return bad("suffix", "suffix (insertion) is not supported");
  if (body.contains("tools") && !body["tools"].is_null() && !body["tools"].empty())
    return bad("tools", "tool calling is not supported");
  return std::nullopt;
}

std::optional<api_error> read_lengths(const json& body, api_endpoint endpoint,
                                      const request_limits& limits, generation_request& r) {
  int64_t max_tokens = limits.default_max_tokens;
  const char* key = "max_tokens";
  if (endpoint == api_endpoint::chat_completions && body.contains("max_completion_tokens") &&
      !body["max_completion_tokens"].is_null())
    key = "max_completion_tokens";
  if (auto e = read_integer(body, key, max_tokens)) return e;
  r.max_tokens_given = body.contains(key) && !body[key].is_null();
  if (max_tokens < 0) return bad(key, std::string(key) + " must be >= 0");
  if (limits.context_length > 0 && max_tokens >= limits.context_length) {
    auto e = bad(key, "this model's maximum context length is " +
                          std::to_string(limits.context_length) + " tokens; " + key + " is " +
                          std::to_string(max_tokens));
    e.code = "context_length_exceeded";
    return e;
  }
  r.sampling.max_tokens = static_cast<int>(max_tokens);
  return std::nullopt;
}

std::optional<api_error> read_sampling(const json& body, generation_request& r) {
  sampling_params& s = r.sampling;
  double temperature = 1.0, top_p = 1.0, min_p = 0.0, presence = 0.0, frequency = 0.0,
         repetition = 1.0;
  int64_t top_k = 0, seed = 0;
  if (auto e = read_number(body, "temperature", temperature)) return e;
  if (auto e = in_range("temperature", temperature, 0.0, 2.0)) return e;
  if (auto e = read_number(body, "top_p", top_p)) return e;
  if (auto e = in_range("top_p", top_p, 0.0, 1.0)) return e;
  if (top_p == 0.0) return bad("top_p", "top_p must be > 0");
  if (auto e = read_integer(body, "top_k", top_k)) return e;
  if (top_k < -1 || top_k > std::numeric_limits<int32_t>::max())
    return bad("top_k", "top_k must be -1 or 0 (off) or a positive integer");
  if (auto e = read_number(body, "min_p", min_p)) return e;
  if (auto e = in_range("min_p", min_p, 0.0, 1.0)) return e;
  if (auto e = read_number(body, "presence_penalty", presence)) return e;
  if (auto e = in_range("presence_penalty", presence, -2.0, 2.0)) return e;
  if (auto e = read_number(body, "frequency_penalty", frequency)) return e;
  if (auto e = in_range("frequency_penalty", frequency, -2.0, 2.0)) return e;
  if (auto e = read_number(body, "repetition_penalty", repetition)) return e;
  if (repetition <= 0.0 || repetition > 10.0)
    return bad("repetition_penalty", "repetition_penalty must be in (0, 10]");
  if (auto e = read_integer(body, "seed", seed)) return e;
  r.seed_given = body.contains("seed") && !body["seed"].is_null();
  s.temperature = static_cast<float>(temperature);
  s.top_p = static_cast<float>(top_p);
  s.top_k = top_k < 0 ? 0 : static_cast<int>(top_k);
  s.min_p = static_cast<float>(min_p);
  s.presence_penalty = static_cast<float>(presence);
  s.frequency_penalty = static_cast<float>(frequency);
  s.repetition_penalty = static_cast<float>(repetition);
  // Without a seed every request samples differently, as OpenAI's do.
  s.seed = r.seed_given ? static_cast<uint64_t>(seed) : std::random_device{}();
  bool ignore_eos = false;
  if (auto e = read_bool(body, "ignore_eos", ignore_eos)) return e;
  s.ignore_eos = ignore_eos;
  return read_stop(body, s.stop);
}

// completions: logprobs is an integer 0..5; chat: logprobs is a boolean and top_logprobs 0..20.
std::optional<api_error> read_logprobs(const json& body, api_endpoint endpoint,
                                       generation_request& r) {
  if (endpoint == api_endpoint::completions) {
    int64_t n = -1;
    if (auto e = read_integer(body, "logprobs", n)) return e;
    if (n > 5 || n < -1) return bad("logprobs", "logprobs must be in [0, 5]");
    r.sampling.logprobs = n >= 0;
    r.sampling.top_logprobs = n < 0 ? 0 : static_cast<int>(n);
    return std::nullopt;
  }
  bool wanted = false;
  int64_t top = 0;
  if (auto e = read_bool(body, "logprobs", wanted)) return e;
  if (auto e = read_integer(body, "top_logprobs", top)) return e;
  if (top < 0 || top > 20) return bad("top_logprobs", "top_logprobs must be in [0, 20]");
  if (top > 0 && !wanted) return bad("top_logprobs", "top_logprobs needs logprobs: true");
  r.sampling.logprobs = wanted;
  r.sampling.top_logprobs = static_cast<int>(top);
  return std::nullopt;
}

std::optional<api_error> read_streaming(const json& body, generation_request& r) {
  if (auto e = read_bool(body, "stream", r.stream)) return e;
  if (!body.contains("stream_options") || body["stream_options"].is_null()) return std::nullopt;
  const auto& o = body["stream_options"];
  if (!o.is_object()) return bad("stream_options", "stream_options must be an object");
  if (!r.stream) return bad("stream_options", "stream_options is only allowed with stream: true");
  if (auto e = read_bool(o, "include_usage", r.include_usage)) {
    e->param = "stream_options.include_usage";
    return e;
  }
  return std::nullopt;
}

// alisa's extra fields `attention` (a policy name) and `kv_sparsity` ([0, 1)).
std::optional<api_error> read_attention(const json& body, generation_request& r) {
  if (body.contains("attention") && !body["attention"].is_null()) {
    static const char* kPolicies[] = {"dense", "swa", "local", "strided", "streaming", "h2o"};
    if (!body["attention"].is_string()) return bad("attention", "attention must be a string");
    r.attention = body["attention"].get<std::string>();
    bool known = false;
    for (const char* p : kPolicies) known = known || r.attention == p;
    if (!known)
      return bad("attention", "attention must be one of dense, swa, local, strided, streaming, h2o; got '" +
                                  r.attention + "'");
  }
  double sparsity = -1.0;
  if (auto e = read_number(body, "kv_sparsity", sparsity)) return e;
  if (body.contains("kv_sparsity") && !body["kv_sparsity"].is_null()) {
    if (sparsity < 0.0 || sparsity >= 1.0)
      return bad("kv_sparsity", "kv_sparsity must be in [0, 1), got " + json(sparsity).dump());
    r.kv_sparsity = static_cast<float>(sparsity);
  }
  return std::nullopt;
}

}  // namespace

api_error make_api_error(int status, std::string message, std::string type) {
  api_error e;
  e.status = status;
  e.message = std::move(message);
  e.type = std::move(type);
  return e;
}

std::variant<generation_request, api_error> parse_generation_request(std::string_view body,
                                                                     api_endpoint endpoint,
                                                                     const request_limits& limits) {
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded())
    return bad("", "the request body is not valid JSON");
  if (!doc.is_object()) return bad("", "the request body must be a JSON object");
  generation_request r;
  r.endpoint = endpoint;
  if (auto e = read_model(doc, limits, r)) return *e;
  if (auto e = read_unsupported(doc)) return *e;
  if (endpoint == api_endpoint::completions) {
    if (auto e = read_prompt(doc, r)) return *e;
    if (auto e = read_bool(doc, "echo", r.echo)) return *e;
  } else if (auto e = read_messages(doc, r.messages)) {
    return *e;
  }
  if (auto e = read_lengths(doc, endpoint, limits, r)) return *e;
  if (auto e = read_sampling(doc, r)) return *e;
  if (auto e = read_logprobs(doc, endpoint, r)) return *e;
  if (r.echo && r.sampling.logprobs)
    return bad("echo", "echo together with logprobs is not supported");
  if (auto e = read_streaming(doc, r)) return *e;
  if (auto e = read_attention(doc, r)) return *e;
  return r;
}

}  // namespace alisa::cluster
