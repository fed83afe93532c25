#pragma once
// token_selector — which prior tokens a decode step attends to, per (sequence, layer): Sparse
// Window Attention (ALISA) and the baselines it is compared against at the same token budget.
// Pure policy: no threads, no I/O, no backend. The forward pass (gpu/) calls select() before a
// layer's attention and observe() after it, through an adapter in actors/.
//
// Budget (the same for every policy, so comparisons are fair): a query that sees n positions
// attends to  budget(n) = min(n, clamp(round((1 - S) * n), min_budget, max_budget))  tokens,
// S = --kv-sparsity, max_budget 0 = no cap, round = half up. When budget(n) == n every policy
// returns a dense set. A sparse set has the lists' positions strictly ascending and always holds
// the query's own position n - 1.
//
// Policies (docs/attention.md has the full rules and the choices the paper left open):
//   dense      every position.
//   swa        ALISA: the ceil(budget/2) most recent positions plus the budget - ceil(budget/2)
//              older positions with the largest attention mass, summed over heads, over the last
//              W query steps (W = window, 0 = the recent half's size at this step). One set per
//              layer shared by all heads. Nothing is dropped: every step reselects from all
//              positions. Top-k runs over positions older than the recent window (no overlap);
//              ties go to the older position. The windowed sum is kept as a running sum plus a
//              ring of the last W rows (sparse: decode rows only cover their set). After a dense
//              multi-row prefill, the sum of its last W rows seeds the running sum as one ring
//              entry, which leaves the window once W decode steps have entered it.
//   local      the budget most recent positions.
//   strided    positions n-1-floor(i*n/budget), i = 0..budget-1: a stride of n/budget over the
//              whole past (n-1, n-1-s, ... exactly when budget divides n; a fixed stride of
//              ceil(n/budget) would run below 0, e.g. n = 10, budget = 6).
//   streaming  StreamingLLM: the first min(num_sinks, budget - 1) positions plus the most recent
//              ones (at least the query itself).
//   h2o        H2O: per kv head, the ceil(budget/2) most recent positions are protected; the others
//              are kept by accumulated attention mass over all steps, and the lowest-scoring kept
//              token is evicted for good whenever the set exceeds the budget (ties: the older).
//
// Thread affinity: one selector per sequence, used by one thread at a time.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proto/token_set.hpp"

namespace alisa::scheduler {

enum class attention_policy { dense, swa, local, strided, streaming, h2o };

std::string_view to_string(attention_policy p);
// Accepts the names above; nullopt for anything else.
std::optional<attention_policy> parse_attention_policy(std::string_view name);
// "dense, swa, local, strided, streaming, h2o": for error messages and --help.
std::string attention_policy_names();

struct selection_options {
  attention_policy policy = attention_policy::dense;
  double sparsity = 0.0;  // --kv-sparsity S in [0, 1): attend to (1 - S) of the visible tokens
  int window = 0;         // --swa-window W: scoring window in query steps; 0 = the recent half
  int num_sinks = 4;      // --sinks: streaming's attention sinks
  int min_budget = 2;     // --kv-budget-min: never fewer tokens than this (>= 1)
  int max_budget = 0;     // --kv-budget-max: never more (0 = no cap)

  // A message naming the bad option (with the flag's name), or nullopt when valid.
  std::optional<std::string> validate() const;
};

// budget(n) above. Precondition: n >= 1, options valid.
int token_budget(const selection_options& options, int num_visible);

class token_selector {
 public:
  virtual ~token_selector() = default;

  // The tokens the query at position num_visible - 1 of `layer` attends to. Called once per
  // (layer, step), for steps with one query row, in increasing positions. Fills `out` (reusing its
  // storage); dense when the budget covers every visible position.
  virtual void select(int layer, int num_visible, token_set& out) = 0;

  // The mass this policy wants back from a step of `layer` with `num_rows` query rows. For
  // multi-row (prefill) steps policies ask for a sum (sum_rows), so the report is one row.
  virtual mass_request wanted_mass(int layer, int num_rows) const = 0;

  // The attention mass the step's rows gave to `set` (the set select() returned, or dense for a
  // multi-row prefill step). Called after every step for which wanted_mass() asked for rows.
  virtual void observe(int layer, const token_set& set, const attention_mass& mass) = 0;

  // Chunked prefill (engine/step_loop.hpp): a prompt of prompt_rows rows may run over several
  // steps only when its last prefill_tail_rows(prompt_rows) rows run together in its final step.
  // The earlier steps are not observed; before the final one, begin_prefill_tail(num_prefix)
  // says how many positions precede it. The selector then ends exactly as after one whole-prompt
  // step. prompt_rows (the default) means the prompt must run whole; 0 that any split will do.
  virtual int prefill_tail_rows(int prompt_rows) const { return prompt_rows; }
  virtual void begin_prefill_tail(int num_prefix) { (void)num_prefix; }
};

// Precondition: options valid; num_layers, num_kv_heads >= 1.
std::unique_ptr<token_selector> make_token_selector(const selection_options& options,
                                                    int num_layers, int num_kv_heads);

}  // namespace alisa::scheduler
