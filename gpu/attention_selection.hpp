#pragma once
// attention_selection — the forward pass's question "which tokens does this layer attend to at this
// step?" and its report "this is the attention mass they received". gpu/ defines it and calls it;
// actors/ implements it over a scheduler/ token_selector (gpu/ does not depend on scheduler/).
// One object per sequence; the forward pass calls it for every layer of every step in order.
#include "proto/token_set.hpp"

namespace alisa::gpu {

class attention_selection {
 public:
  virtual ~attention_selection() = default;
  // Token set for the single query row at position num_visible - 1 of `layer`. Not called for
  // multi-row steps (prefill), which attend densely.
  virtual void select(int layer, int num_visible, token_set& out) = 0;
  // Mass the policy wants from a step of `layer` with num_rows query rows (num_rows == 0: none).
  virtual mass_request wanted_mass(int layer, int num_rows) const = 0;
  // The mass the step's rows gave to `set`; called only when wanted_mass() asked for rows.
  virtual void observe(int layer, const token_set& set, const attention_mass& mass) = 0;
  // Chunked prefill: the last rows of a prompt that must run in its final step (the earlier
  // chunks run without the selection), and the positions that precede that step, told before it.
  // See scheduler::token_selector; prompt_rows = the prompt must run whole.
  virtual int prefill_tail_rows(int prompt_rows) const { return prompt_rows; }
  virtual void begin_prefill_tail(int num_prefix) { (void)num_prefix; }
};

}  // namespace alisa::gpu
