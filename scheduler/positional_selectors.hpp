#pragma once
// positional_selectors — the policies that pick tokens by position alone, at the same budget as
// SWA: dense, local, strided and streaming (StreamingLLM). They need no attention mass and keep no
// state, so one object serves every layer.
#include <cstdint>
#include <span>

#include "scheduler/token_selector.hpp"

namespace alisa::scheduler {

// Every position, always; asks for no mass.
class dense_selector final : public token_selector {
 public:
  void select(int layer, int num_visible, token_set& out) override;
  mass_request wanted_mass(int layer, int num_rows) const override;
  void observe(int layer, const token_set& set, const attention_mass& mass) override;
  int prefill_tail_rows(int) const override { return 0; }  // no mass, no state
};

// Common frame: dense while the budget covers every position, else one shared list of exactly
// budget strictly ascending positions that ends with the query's (num_visible - 1).
class positional_selector : public token_selector {
 public:
  explicit positional_selector(const selection_options& options) : options_(options) {}
  void select(int layer, int num_visible, token_set& out) final;
  mass_request wanted_mass(int layer, int num_rows) const final;
  void observe(int layer, const token_set& set, const attention_mass& mass) final;
  int prefill_tail_rows(int) const final { return 0; }  // no mass, no state

 protected:
  const selection_options& options() const { return options_; }
  // Writes the positions, ascending, into `positions` (budget of them, 1 <= budget < num_visible).
  virtual void fill(int num_visible, int budget, std::span<int32_t> positions) const = 0;

 private:
  selection_options options_;
};

// The budget most recent positions.
class local_selector final : public positional_selector {
 public:
  using positional_selector::positional_selector;

 private:
  void fill(int num_visible, int budget, std::span<int32_t> positions) const override;
};

// Positions n-1-floor(i*n/budget), i = 0..budget-1: a stride of n/budget over the whole past. The
// stride alternates between floor and ceil of n/budget when budget does not divide n; a fixed
// stride of ceil(n/budget) would run below position 0 (n = 10, budget = 6: 9, 7, 5, 3, 1, -1).
class strided_selector final : public positional_selector {
 public:
  using positional_selector::positional_selector;

 private:
  void fill(int num_visible, int budget, std::span<int32_t> positions) const override;
};

// StreamingLLM: the first min(num_sinks, budget - 1) positions (attention sinks) plus the most
// recent ones; at least one recent position, so the query always sees itself.
class streaming_selector final : public positional_selector {
 public:
  using positional_selector::positional_selector;

 private:
  void fill(int num_visible, int budget, std::span<int32_t> positions) const override;
};

}  // namespace alisa::scheduler
