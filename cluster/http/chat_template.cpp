#include "cluster/http/chat_template.hpp"

#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "model/gguf_loader.hpp"

namespace alisa::cluster {
namespace {

constexpr std::array<std::pair<chat_family, std::string_view>, 8> kNames{{
    {chat_family::llama2, "llama-2"},
    {chat_family::llama3, "llama-3"},
    {chat_family::chatml, "chatml"},
    {chat_family::mistral, "mistral"},
    {chat_family::zephyr, "zephyr"},
    {chat_family::phi3, "phi-3"},
    {chat_family::gemma, "gemma"},
    {chat_family::plain, "plain"},
}};

bool has(std::string_view text, std::string_view marker) {
  return text.find(marker) != std::string_view::npos;
}

// The system prompt (if the first message is one) and the rest, for families without a system
// role of their own: they fold it into the first user turn.
std::pair<std::string, std::vector<chat_message>> split_system(const std::vector<chat_message>& in) {
  if (!in.empty() && in.front().role == "system")
    return {in.front().content, std::vector<chat_message>(in.begin() + 1, in.end())};
  return {"", in};
}

std::string render_llama2(const std::vector<chat_message>& messages) {
  auto [system, turns] = split_system(messages);
  std::string out;
  bool first_user = true;
  for (const auto& m : turns) {
    if (m.role == "assistant") {
      out += " " + m.content + " </s>";
      continue;
    }
    out += first_user ? "[INST] " : "<s>[INST] ";  // the prompt's own BOS opens the first turn
    if (first_user && !system.empty()) out += "<<SYS>>\n" + system + "\n<</SYS>>\n\n";
    out += m.content + " [/INST]";
    first_user = false;
  }
  return out;
}

std::string render_mistral(const std::vector<chat_message>& messages) {
  auto [system, turns] = split_system(messages);
  std::string out;
  bool first_user = true;
  for (const auto& m : turns) {
    if (m.role == "assistant") {
      out += m.content + "</s>";
      continue;
    }
    out += "[INST] ";
    if (first_user && !system.empty()) out += system + "\n\n";
    out += m.content + " [/INST]";
    first_user = false;
  }
  return out;
}

std::string render_llama3(const std::vector<chat_message>& messages) {
  std::string out;
  for (const auto& m : messages)
    out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + m.content + "<|eot_id|>";
  return out + "<|start_header_id|>assistant<|end_header_id|>\n\n";
}

std::string render_chatml(const std::vector<chat_message>& messages) {
  std::string out;
  for (const auto& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  return out + "<|im_start|>assistant\n";
}

// Zephyr and Phi-3 differ only in the end-of-turn marker.
std::string render_tagged(const std::vector<chat_message>& messages, std::string_view end) {
  std::string out;
  for (const auto& m : messages)
    out += "<|" + m.role + "|>\n" + m.content + std::string(end) + "\n";
  return out + "<|assistant|>\n";
}

std::string render_gemma(const std::vector<chat_message>& messages) {
  auto [system, turns] = split_system(messages);
  std::string out;
  bool first_user = true;
  for (const auto& m : turns) {
    const bool model = m.role == "assistant";
    out += "<start_of_turn>" + std::string(model ? "model" : "user") + "\n";
    if (!model && first_user && !system.empty()) out += system + "\n\n";
    if (!model) first_user = false;
    out += m.content + "<end_of_turn>\n";
  }
  return out + "<start_of_turn>model\n";
}

std::string render_plain(const std::vector<chat_message>& messages) {
  std::string out;
  for (const auto& m : messages) out += m.role + ": " + m.content + "\n";
  return out + "assistant:";
}

std::optional<std::string> read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::string chat_family_names() {
  std::string out;
  for (const auto& [family, name] : kNames) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

std::optional<chat_family> parse_chat_family(std::string_view name) {
  for (const auto& [family, known] : kNames)
    if (known == name) return family;
  return std::nullopt;
}

std::string_view to_string(chat_family family) {
  for (const auto& [f, name] : kNames)
    if (f == family) return name;
  return "plain";
}

std::optional<chat_family> detect_chat_family(std::string_view t) {
  // Most specific markers first: several families share [INST] or <|assistant|>.
  if (has(t, "<|start_header_id|>")) return chat_family::llama3;
  if (has(t, "<|im_start|>")) return chat_family::chatml;
  if (has(t, "<start_of_turn>")) return chat_family::gemma;
  if (has(t, "<|assistant|>") && has(t, "<|end|>")) return chat_family::phi3;
  if (has(t, "<|assistant|>")) return chat_family::zephyr;
  if (has(t, "<<SYS>>")) return chat_family::llama2;
  if (has(t, "[INST]")) return chat_family::mistral;
  return std::nullopt;
}

namespace {

// A GGUF file carries its template in its metadata (tokenizer.chat_template).
chat_family_choice gguf_choice(const std::string& path) {
  chat_family_choice out;
  out.source = "default (no chat_template)";
  auto jinja = model::gguf_chat_template(path);
  if (!jinja.ok()) {
    out.error = std::string(jinja.status().message());
    return out;
  }
  if (jinja->empty()) return out;
  if (auto f = detect_chat_family(*jinja)) {
    out.family = *f;
    out.source = path + " (tokenizer.chat_template)";
    return out;
  }
  out.error = "the tokenizer.chat_template of " + path +
              " matches no family alisa knows; give --chat-template NAME (" + chat_family_names() + ")";
  return out;
}

}  // namespace

chat_family_choice choose_chat_family(const std::string& model_path, const std::string& forced) {
  chat_family_choice out;
  if (!forced.empty()) {
    if (auto f = parse_chat_family(forced)) {
      out.family = *f;
      out.source = "--chat-template";
    } else {
      out.error = "unknown --chat-template '" + forced + "'; known: " + chat_family_names();
    }
    return out;
  }
  if (model_path.size() > 5 && model_path.ends_with(".gguf")) return gguf_choice(model_path);
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path model(model_path);
  const fs::path dir = fs::is_directory(model, ec) ? model : model.parent_path();
  const fs::path config = dir / "tokenizer_config.json";
  out.source = "default (no chat_template)";
  if (model_path.empty() || !fs::exists(config, ec)) return out;
  auto text = read_text(config);
  const auto json = nlohmann::json::parse(text ? *text : std::string(), nullptr, false);
  if (json.is_discarded()) {
    out.error = config.string() + " is not valid JSON; give --chat-template NAME (" +
                chat_family_names() + ")";
    return out;
  }
  if (!json.contains("chat_template")) return out;
  const auto& t = json["chat_template"];
  // Some configs hold a list of named templates; the "default" one is the chat template.
  std::string jinja;
  if (t.is_string()) jinja = t.get<std::string>();
  if (t.is_array())
    for (const auto& entry : t)
      if (entry.is_object() && entry.value("name", "") == "default" && entry["template"].is_string())
        jinja = entry["template"].get<std::string>();
  if (auto f = detect_chat_family(jinja)) {
    out.family = *f;
    out.source = config.string();
    return out;
  }
  out.error = "the chat_template in " + config.string() +
              " matches no family alisa knows; give --chat-template NAME (" + chat_family_names() +
              ")";
  return out;
}

std::string render_chat(chat_family family, const std::vector<chat_message>& messages) {
  switch (family) {
    case chat_family::llama2: return render_llama2(messages);
    case chat_family::llama3: return render_llama3(messages);
    case chat_family::chatml: return render_chatml(messages);
    case chat_family::mistral: return render_mistral(messages);
    case chat_family::zephyr: return render_tagged(messages, "</s>");
    case chat_family::phi3: return render_tagged(messages, "<|end|>");
    case chat_family::gemma: return render_gemma(messages);
    case chat_family::plain: break;
  }
  return render_plain(messages);
}

}  // namespace alisa::cluster
