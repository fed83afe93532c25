#pragma once
// bpe_merge — the greedy BPE merge loop shared by the llama2.c and Hugging Face tokenizers.
#include <functional>
#include <optional>
#include <vector>

namespace alisa::model {

struct bpe_candidate {
  double priority = 0;  // higher merges first (llama2.c: piece score; HF: minus the merge rank)
  int merged_id = -1;
};

// Returns the merge of the adjacent tokens (left, right), or nullopt when they do not merge.
using bpe_pair_lookup = std::function<std::optional<bpe_candidate>(int left, int right)>;

// Repeatedly merges the adjacent pair with the highest priority (ties: the leftmost pair) until no
// pair merges. O(n log n): a priority queue of candidate pairs over a linked list of symbols, with
// stale candidates skipped when popped (instead of llama2.c's O(n^2) rescan after every merge).
std::vector<int> bpe_merge(std::vector<int> ids, const bpe_pair_lookup& lookup);

}  // namespace alisa::model
