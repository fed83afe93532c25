#pragma once
// policy_selection — adapts a scheduler::token_selector (pure policy) to the forward pass's
// gpu::attention_selection callback. One per sequence.
#include <memory>

#include "gpu/attention_selection.hpp"
#include "scheduler/token_selector.hpp"

namespace alisa::engine {

class policy_selection final : public gpu::attention_selection {
 public:
  explicit policy_selection(std::unique_ptr<scheduler::token_selector> selector)
      : selector_(std::move(selector)) {}
  void select(int layer, int num_visible, token_set& out) override {
    selector_->select(layer, num_visible, out);
  }
  mass_request wanted_mass(int layer, int num_rows) const override {
    return selector_->wanted_mass(layer, num_rows);
  }
  void observe(int layer, const token_set& set, const attention_mass& mass) override {
    selector_->observe(layer, set, mass);
  }
  int prefill_tail_rows(int prompt_rows) const override {
    return selector_->prefill_tail_rows(prompt_rows);
  }
  void begin_prefill_tail(int num_prefix) override { selector_->begin_prefill_tail(num_prefix); }

 private:
  std::unique_ptr<scheduler::token_selector> selector_;
};

// nullptr for the dense policy (the forward pass then skips selection entirely).
std::unique_ptr<gpu::attention_selection> make_policy_selection(
    const scheduler::selection_options& options, int num_layers, int num_kv_heads);

}  // namespace alisa::engine
