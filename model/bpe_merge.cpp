#include "model/bpe_merge.hpp"

#include <queue>

namespace alisa::model {
namespace {

struct queued_pair {
  double priority;
  int left;      // symbol index of the left token (original position: orders ties left to right)
  int right;     // symbol index of the right token
  int left_id;   // ids when queued; a merge since then changes them and makes this entry stale
  int right_id;
  int merged_id;
};

struct lower_priority {
  bool operator()(const queued_pair& a, const queued_pair& b) const {
    if (a.priority != b.priority) return a.priority < b.priority;
    return a.left > b.left;  // equal priority: the leftmost pair comes out first
  }
};

}  // namespace

std::vector<int> bpe_merge(std::vector<int> ids, const bpe_pair_lookup& lookup) {
  const int n = static_cast<int>(ids.size());
  if (n < 2) return ids;
  std::vector<int> prev(n), next(n);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  std::priority_queue<queued_pair, std::vector<queued_pair>, lower_priority> queue;
  auto consider = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    if (auto c = lookup(ids[left], ids[right]))
      queue.push({c->priority, left, right, ids[left], ids[right], c->merged_id});
  };
  for (int i = 0; i + 1 < n; ++i) consider(i, i + 1);

  while (!queue.empty()) {
    const queued_pair top = queue.top();
    queue.pop();
    const bool stale = ids[top.left] != top.left_id || ids[top.right] != top.right_id ||
                       next[top.left] != top.right;
    if (stale) continue;
    // The left symbol absorbs the right one; the right one leaves the list.
    ids[top.left] = top.merged_id;
    ids[top.right] = -1;
    next[top.left] = next[top.right];
    if (next[top.right] >= 0) prev[next[top.right]] = top.left;
    consider(prev[top.left], top.left);
    consider(top.left, next[top.left]);
  }

  std::vector<int> out;
  out.reserve(n);
  for (int i = 0; i >= 0; i = next[i]) out.push_back(ids[i]);
  return out;
}

}  // namespace alisa::model
