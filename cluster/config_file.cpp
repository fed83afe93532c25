#include "cluster/config_file.hpp"

#include <fstream>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace alisa::cluster {
namespace {

struct config_entry {
  std::string name;
  std::string value;
  bool is_switch = false;  // a bare true / false: the flag is given or not
};

bool valid_name(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  return true;
}

// "value" or 'value' -> value, with \n and \t unescaped inside double quotes.
std::string unquote(std::string value) {
  if (value.size() < 2) return value;
  const char q = value.front();
  if ((q != '"' && q != '\'') || value.back() != q) return value;
  value = value.substr(1, value.size() - 2);
  if (q == '\'') return value;
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size()) {
      const char e = value[++i];
      out += e == 'n' ? '\n' : e == 't' ? '\t' : e;
    } else {
      out += value[i];
    }
  }
  return out;
}

// A '#' starts a comment unless it is inside quotes.
std::string strip_comment(const std::string& line) {
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '#') {
      return line.substr(0, i);
    }
  }
  return line;
}

std::optional<std::vector<config_entry>> read_entries(const std::string& path, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = "--config: cannot read " + path;
    return std::nullopt;
  }
  std::vector<config_entry> entries;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string text(absl::StripAsciiWhitespace(strip_comment(line)));
    if (text.empty()) continue;
    const auto eq = text.find('=');
    const std::string name(absl::StripAsciiWhitespace(text.substr(0, eq)));
    if (eq == std::string::npos || !valid_name(name)) {
      error = absl::StrCat(path, ":", number, ": expected `name = value`, got `", text, "`");
      return std::nullopt;
    }
    const std::string raw(absl::StripAsciiWhitespace(text.substr(eq + 1)));
    // Only a bare true/false is a flag switch; "false" in quotes is a string value.
    const bool is_switch = raw == "true" || raw == "false";
    entries.push_back({name, unquote(raw), is_switch});
  }
  return entries;
}

// Long option names the command line gives ("--model x", "--model=x").
std::set<std::string> given_names(const std::vector<std::string>& args) {
  std::set<std::string> names;
  for (const auto& a : args)
    if (a.rfind("--", 0) == 0 && a.size() > 2) names.insert(a.substr(2, a.find('=') - 2));
  return names;
}

}  // namespace

std::optional<std::vector<std::string>> expand_config_file(const std::vector<std::string>& args,
                                                           std::string& error) {
  size_t at = args.size();
  std::string path;
  for (size_t i = 0; i < args.size() && at == args.size(); ++i) {
    if (args[i] == "--config") {
      if (i + 1 >= args.size()) {
        error = "--config needs a file";
        return std::nullopt;
      }
      at = i;
      path = args[i + 1];
    } else if (args[i].rfind("--config=", 0) == 0) {
      at = i;
      path = args[i].substr(9);
    }
  }
  if (at == args.size()) return args;
  auto entries = read_entries(path, error);
  if (!entries) return std::nullopt;
  const size_t consumed = args[at] == "--config" ? 2 : 1;
  std::vector<std::string> rest(args.begin(), args.begin() + at);
  rest.insert(rest.end(), args.begin() + at + consumed, args.end());
  const auto given = given_names(rest);
  std::vector<std::string> from_file;
  for (const auto& e : *entries) {
    if (given.count(e.name)) continue;  // the command line overrides the file
    if (e.is_switch) {
      if (e.value == "true") from_file.push_back("--" + e.name);
    } else {
      from_file.push_back("--" + e.name + "=" + e.value);  // one token: a value may start with '-'
    }
  }
  std::vector<std::string> out(args.begin(), args.begin() + at);
  out.insert(out.end(), from_file.begin(), from_file.end());
  out.insert(out.end(), args.begin() + at + consumed, args.end());
  return out;
}

}  // namespace alisa::cluster
