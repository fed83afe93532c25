#include "engine/policy_selection.hpp"

namespace alisa::engine {

std::unique_ptr<gpu::attention_selection> make_policy_selection(
    const scheduler::selection_options& options, int num_layers, int num_kv_heads) {
  if (options.policy == scheduler::attention_policy::dense) return nullptr;
  return std::make_unique<policy_selection>(
      scheduler::make_token_selector(options, num_layers, num_kv_heads));
}

}  // namespace alisa::engine
