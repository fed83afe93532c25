#pragma once
// paged_admission — vLLM-style admission over a block-paged device KV pool, with preempt-and-
// recompute (alisa-algorithm.md §3 "System baselines": vLLM). The kv_policy::vllm baseline keeps
// all KV on device and decides here, before every step, who runs.
//
// Each sequence of n tokens holds blocks_for(n) = ceil(n / kv_block_tokens) blocks per layer; the
// pool has total_blocks_per_layer. Counting one layer is enough: every layer holds the same blocks.
//
//   running --(pool short before a step; latest admitted first)--> preempted: its KV is freed and
//   it goes back to the caller's waiting queue (at the front, as vLLM does) to be recomputed from
//   its tokens when resumed --(fits, FCFS)--> running
//
// Thread affinity: immutable; any thread. Pure: no I/O.
#include <cstdint>
#include <span>
#include <vector>

#include "scheduler/sequence_plan.hpp"

namespace alisa::scheduler {

class paged_admission {
 public:
  // Precondition: total_blocks_per_layer >= 0.
  explicit paged_admission(int total_blocks_per_layer);

  struct decision {
    std::vector<uint64_t> preempt;  // running sequences to preempt, latest admitted first
    std::vector<uint64_t> resume;   // waiting sequences to start or resume, in queue order
    // The one sequence that must run (the only one left running, or the queue's head when none
    // runs) does not fit even in the whole pool: the caller must fail or shorten it.
    bool cannot_fit = false;
  };

  // Before a step. `running` (in admission order) each need blocks for length + 1 tokens. The
  // latest admitted are preempted until the rest fit; the last one is never preempted. Then, only
  // if nothing was preempted (resuming while preempting would thrash), waiting sequences are
  // resumed first come first served while they fit after the running ones, each needing blocks for
  // its whole length + 1 tokens (a resumed sequence is recomputed from its tokens); the first that
  // does not fit stops the queue, so a long request is never starved by shorter ones behind it.
  decision before_step(std::span<const sequence_demand> running,
                       std::span<const sequence_demand> waiting) const;

  // ceil(tokens / kv_block_tokens). Precondition: tokens >= 0.
  static int blocks_for(int tokens);

  int total_blocks_per_layer() const { return total_blocks_; }

 private:
  // Blocks the sequence needs to take its next step.
  static int64_t step_blocks(const sequence_demand& s) { return blocks_for(s.length + 1); }

  int total_blocks_;
};

}  // namespace alisa::scheduler
