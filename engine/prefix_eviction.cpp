#include "engine/prefix_eviction.hpp"

#include <algorithm>

namespace alisa::engine {

void prefix_eviction::set_leaf(const prefix_key& key, const node& n, bool leaf) {
  if (leaf)
    leaves_.insert(rank(key, n));
  else
    leaves_.erase(rank(key, n));
}

void prefix_eviction::insert(const prefix_key& key, const prefix_key& parent, double cost) {
  if (nodes_.count(key)) return use(key);
  node n{parent, cost, inflation_ + cost, ++uses_, 0};
  if (auto p = nodes_.find(parent); p != nodes_.end()) {
    if (p->second.children++ == 0) set_leaf(parent, p->second, false);
  }
  set_leaf(key, n, true);
  nodes_.emplace(key, n);
}

void prefix_eviction::use(const prefix_key& key) {
  auto it = nodes_.find(key);
  if (it == nodes_.end()) return;
  node& n = it->second;
  const bool leaf = n.children == 0;
  if (leaf) set_leaf(key, n, false);
  n.credit = inflation_ + n.cost;
  n.used = ++uses_;
  if (leaf) set_leaf(key, n, true);
}

std::optional<prefix_key> prefix_eviction::victim() const {
  if (leaves_.empty()) return std::nullopt;
  const ordered_key& k = leaves_.begin()->second;
  return prefix_key{k.first, k.second};
}

void prefix_eviction::erase(const prefix_key& key) {
  auto it = nodes_.find(key);
  if (it == nodes_.end()) return;
  const node n = it->second;
  if (n.children == 0) set_leaf(key, n, false);
  inflation_ = std::max(inflation_, n.credit);
  nodes_.erase(it);
  if (auto p = nodes_.find(n.parent); p != nodes_.end()) {
    if (--p->second.children == 0) set_leaf(n.parent, p->second, true);
  }
}

}  // namespace alisa::engine
