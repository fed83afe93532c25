// attention_policy — the policy names, the validation of the selection flags, and the token budget
// every policy shares (token_selector.hpp has the contracts).
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <string>

#include "scheduler/token_selector.hpp"

namespace alisa::scheduler {
namespace {

struct named_policy {
  attention_policy policy;
  std::string_view name;
};

// The order is the one --help and error messages list.
constexpr std::array<named_policy, 6> k_policies = {{
    {attention_policy::dense, "dense"},
    {attention_policy::swa, "swa"},
    {attention_policy::local, "local"},
    {attention_policy::strided, "strided"},
    {attention_policy::streaming, "streaming"},
    {attention_policy::h2o, "h2o"},
}};

// Shortest text that reads back as `value` ("0.5", "1", "nan"); no locale, no streams.
std::string format_number(double value) {
  std::array<char, 32> text{};
  auto [end, ec] = std::to_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc()) return "?";
  return std::string(text.data(), end);
}

std::string got(double value) { return ", got " + format_number(value); }

}  // namespace

std::string_view to_string(attention_policy p) {
  for (const auto& entry : k_policies) {
    if (entry.policy == p) return entry.name;
  }
  return "unknown";
}

std::optional<attention_policy> parse_attention_policy(std::string_view name) {
  for (const auto& entry : k_policies) {
    if (entry.name == name) return entry.policy;
  }
  return std::nullopt;
}

std::string attention_policy_names() {
  std::string names;
  for (const auto& entry : k_policies) {
    if (!names.empty()) names += ", ";
    names += entry.name;
  }
  return names;
}

std::optional<std::string> selection_options::validate() const {
  if (!parse_attention_policy(to_string(policy))) {
    return "--attention must be one of " + attention_policy_names();
  }
  // Written as a negated range so that NaN is rejected too.
  if (!(sparsity >= 0.0 && sparsity < 1.0)) {
    return "--kv-sparsity must be in [0, 1)" + got(sparsity);
  }
  if (window < 0) return "--swa-window must be >= 0 (0 = the recent half)" + got(window);
  if (num_sinks < 0) return "--sinks must be >= 0" + got(num_sinks);
  if (min_budget < 1) return "--kv-budget-min must be >= 1" + got(min_budget);
  if (max_budget < 0) return "--kv-budget-max must be >= 0 (0 = no cap)" + got(max_budget);
  if (max_budget > 0 && max_budget < min_budget) {
    return "--kv-budget-max (" + std::to_string(max_budget) + ") must be >= --kv-budget-min (" +
           std::to_string(min_budget) + ") when set";
  }
  return std::nullopt;
}

int token_budget(const selection_options& options, int num_visible) {
  // Round half up, with a tolerance far above the binary error of (1 - S) * n for any n below
  // ~10^6 and far below the 0.5 that matters: (1 - 0.9) * 5 is 0.49999999999999994 and
  // (1 - 0.7) * 5 is 1.5000000000000002 in binary, and both must round the way the decimals read.
  const double share = (1.0 - options.sparsity) * num_visible;
  double budget = std::floor(share + 0.5 + 1e-9);
  budget = std::max(budget, static_cast<double>(options.min_budget));
  if (options.max_budget > 0) budget = std::min(budget, static_cast<double>(options.max_budget));
  return static_cast<int>(std::min(budget, static_cast<double>(num_visible)));
}

}  // namespace alisa::scheduler
