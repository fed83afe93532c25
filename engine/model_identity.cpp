#include "engine/model_identity.hpp"

#include <cstdint>
#include <cstdio>
#include <map>
#include <sstream>
#include <vector>

namespace alisa::engine {
namespace {

std::string tokenizer_hash(const model::tokenizer& tok) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (int id = 0; id < tok.vocab_size(); ++id) {
    const std::string bytes = tok.token_bytes(-1, id);
    for (unsigned char c : bytes) hash = (hash ^ c) * 0x100000001b3ull;
    hash = (hash ^ 0xffu) * 0x100000001b3ull;  // a separator: "ab","c" differs from "a","bc"
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

std::vector<std::pair<std::string, std::string>> parse(std::string_view encoded) {
  std::vector<std::pair<std::string, std::string>> fields;
  std::istringstream in{std::string(encoded)};
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) fields.emplace_back(line.substr(0, eq), line.substr(eq + 1));
  }
  return fields;
}

}  // namespace

std::string model_identity(const model_card& card, const engine_options& options) {
  const auto& c = card.config;
  std::ostringstream out;
  out << "architecture=" << model::to_string(c.arch) << "\n"
      << "hidden_size=" << c.hidden_size << "\n"
      << "intermediate_size=" << c.intermediate_size << "\n"
      << "num_layers=" << c.num_layers << "\n"
      << "num_heads=" << c.num_heads << "\n"
      << "num_kv_heads=" << c.num_kv_heads << "\n"
      << "head_dim=" << c.head_dim << "\n"
      << "vocab_size=" << c.vocab_size << "\n"
      << "context_length=" << c.max_position_embeddings << "\n"
      << "rope_theta=" << c.rope_theta << "\n"
      << "tokenizer=" << card.tokenizer->name() << " bos " << card.tokenizer->bos_id() << " eos "
      << card.tokenizer->eos_id() << " pieces " << tokenizer_hash(*card.tokenizer) << "\n"
      << "weights=" << card.weights_fingerprint << "\n"
      << "dtype=" << to_string(card.weight_type) << "\n"
      << "kv_dtype=" << to_string(options.kv_type) << "\n";
  return out.str();
}

std::optional<std::string> identity_difference(std::string_view ours, std::string_view theirs,
                                               std::string_view here, std::string_view there) {
  const auto mine = parse(ours);
  std::map<std::string, std::string> other;
  for (auto& [name, value] : parse(theirs)) other[name] = value;
  std::string text;
  for (const auto& [name, value] : mine) {
    auto it = other.find(name);
    const std::string theirs_value = it == other.end() ? "(not given)" : it->second;
    if (theirs_value == value) continue;
    if (!text.empty()) text += "; ";
    text += name + " is " + value + " " + std::string(here) + " but " + theirs_value + " " +
            std::string(there);
  }
  if (text.empty() && mine.size() != other.size()) text = "the identities list different fields";
  if (text.empty()) return std::nullopt;
  return text;
}

}  // namespace alisa::engine
