#include "engine/prefix_cache.hpp"

#include <algorithm>
#include <future>
#include <stdexcept>

#include "proto/mix64.hpp"

namespace alisa::engine {
namespace {

prefix_key absorb(prefix_key k, uint64_t value) {
  // Two independent 64-bit chains: 128 bits between a collision and a (verified) miss.
  return {mix64(k.hi ^ mix64(value + 0x632be59bd9b4e019ull)), mix64(k.lo + mix64(value ^ 0x8cb92ba72f3d8dd7ull))};
}

std::span<const int32_t> block_of(std::span<const int32_t> tokens, int index) {
  return tokens.subspan(static_cast<size_t>(index) * kv_block_tokens, kv_block_tokens);
}

}  // namespace

prefix_cache::prefix_cache(size_t budget_bytes, prefix_cache_shape shape, const std::string& identity)
    : budget_(budget_bytes), shape_(shape) {
  for (unsigned char c : identity) root_ = absorb(root_, c);
  root_ = absorb(root_, identity.size());
}

prefix_key prefix_cache::key_of(const prefix_key& parent, std::span<const int32_t> block_tokens) const {
  prefix_key k = absorb(parent, 0x5eed);
  for (int32_t t : block_tokens) k = absorb(k, static_cast<uint32_t>(t));
  return k;
}

std::pair<prefix_key, prefix_key> prefix_cache::keys_at(std::span<const int32_t> tokens, int index) const {
  prefix_key parent = root_;
  prefix_key key = root_;
  for (int b = 0; b <= index; ++b) {
    parent = key;
    key = key_of(parent, block_of(tokens, b));
  }
  return {key, parent};
}

const prefix_cache::entry* prefix_cache::find(const prefix_key& key, const prefix_key& parent,
                                              std::span<const int32_t> block_tokens) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  const prefix_block& b = *it->second.block;
  if (!(b.parent == parent) || !std::equal(block_tokens.begin(), block_tokens.end(), b.tokens.begin()))
    return nullptr;
  return &it->second;
}


void prefix_cache::add_level(std::unique_ptr<prefix_store_level> level) {
  levels_.push_back(std::move(level));
}

prefix_store_level* prefix_cache::level(prefix_tier tier) {
  for (auto& l : levels_)
    if (l->tier() == tier) return l.get();
  return nullptr;
}

std::vector<prefix_wanted> prefix_cache::chain_of(std::span<const int32_t> tokens, int n) const {
  std::vector<prefix_wanted> chain;
  prefix_key parent = root_;
  for (int b = 0; b < n; ++b) {
    const auto block_tokens = block_of(tokens, b);
    const prefix_key key = key_of(parent, block_tokens);
    chain.push_back({key, parent, block_tokens});
    parent = key;
  }
  return chain;
}

void prefix_cache::extend_from_levels(std::span<const prefix_wanted> chain,
                                      std::vector<prefix_block_ref>& blocks) {
  for (auto& level : levels_) {
    if (blocks.size() < chain.size()) extend_from(*level, chain, blocks);
    level->finish();
  }
}

// Batches of blocks, each fetched on a helper thread while the one before is decoded and kept
// here: the round trip (or the disk reads) of one overlaps the CRC and copies of the other.
void prefix_cache::extend_from(prefix_store_level& level, std::span<const prefix_wanted> chain,
                               std::vector<prefix_block_ref>& blocks) {
  // Blocks per request: a memory node's reply stays tens of MB, not the whole document.
  constexpr size_t max_batch = 16;
  using values = std::vector<absl::StatusOr<std::string>>;
  auto batch_at = [&](size_t first) {
    return chain.subspan(first, std::min(max_batch, chain.size() - first));
  };
  auto start_fetch = [&level](std::vector<storage::row_request> requests) {
    return std::async(std::launch::async,
                      [&level, r = std::move(requests)] { return level.fetch(r); });
  };
  auto run = batch_at(blocks.size());
  auto requests = level.requests(run);
  std::future<values> pending = start_fetch(requests);
  const size_t tier = static_cast<size_t>(level.tier());
  while (true) {
    values fetched = pending.get();
    const bool whole_batch = requests.size() == run.size();
    const size_t next_first = blocks.size() + run.size();
    std::span<const prefix_wanted> next_run;
    std::vector<storage::row_request> next_requests;
    if (whole_batch && next_first < chain.size()) {
      next_run = batch_at(next_first);
      next_requests = level.requests(next_run);
      if (!next_requests.empty()) pending = start_fetch(next_requests);
    }
    auto found = level.accept_run(run, fetched, shape_);
    stats_.hit_tokens_by_tier[tier] += found.size() * kv_block_tokens;
    for (auto& b : found) blocks.push_back(keep(std::move(b)));
    if (found.size() < run.size() || next_requests.empty()) {
      if (pending.valid()) pending.wait();  // its blocks follow a gap: not used
      return;
    }
    run = next_run;
    requests = std::move(next_requests);
  }
}

std::vector<prefix_block_ref> prefix_cache::lookup(std::span<const int32_t> tokens, int max_blocks) {
  ++stats_.lookups;
  const int complete = static_cast<int>(tokens.size() / kv_block_tokens);
  const auto chain = chain_of(tokens, std::max(0, std::min(complete, max_blocks)));
  std::vector<prefix_block_ref> blocks;
  for (const auto& w : chain) {
    const entry* e = find(w.key, w.parent, w.tokens);
    if (!e) break;
    blocks.push_back(e->block);
  }
  stats_.hit_tokens_by_tier[static_cast<size_t>(prefix_tier::host)] += blocks.size() * kv_block_tokens;
  extend_from_levels(chain, blocks);
  for (const auto& b : blocks) eviction_.use(b->key);
  stats_.hit_tokens += static_cast<uint64_t>(blocks.size()) * kv_block_tokens;
  return blocks;
}

bool prefix_cache::contains(std::span<const int32_t> tokens, int index) const {
  auto [key, parent] = keys_at(tokens, index);
  return find(key, parent, block_of(tokens, index)) != nullptr;
}

prefix_block prefix_cache::make_block(std::span<const int32_t> tokens, int index) const {
  prefix_block b;
  std::tie(b.key, b.parent) = keys_at(tokens, index);
  const auto block_tokens = block_of(tokens, index);
  std::copy(block_tokens.begin(), block_tokens.end(), b.tokens.begin());
  b.depth = static_cast<uint32_t>(index);
  b.keys.resize(shape_.block_floats());
  b.values.resize(shape_.block_floats());
  b.hidden.resize(shape_.hidden_floats());
  return b;
}

void prefix_cache::evict_one() {
  const prefix_key victim = *eviction_.victim();
  eviction_.erase(victim);
  auto it = entries_.find(victim);
  stats_.bytes -= it->second.block->num_bytes();
  entries_.erase(it);
  ++stats_.blocks_evicted;
}

prefix_block_ref prefix_cache::keep(prefix_block block) {
  auto ref = std::make_shared<const prefix_block>(std::move(block));
  const size_t bytes = ref->num_bytes();
  if (bytes > budget_) return ref;
  if (auto it = entries_.find(ref->key); it != entries_.end()) return it->second.block;
  while (stats_.bytes + bytes > budget_ && eviction_.size() > 0) evict_one();
  eviction_.insert(ref->key, ref->parent, shape_.recompute_cost(ref->depth));
  entries_.emplace(ref->key, entry{ref});
  stats_.bytes += bytes;
  return ref;
}

void prefix_cache::publish(prefix_block block) {
  if (entries_.count(block.key)) return;
  for (auto& l : levels_) l->put(block);
  keep(std::move(block));
  ++stats_.blocks_published;
}

}  // namespace alisa::engine
