#include "actors/spread_block_store.hpp"

#include <algorithm>
#include <map>
#include <cassert>
#include <utility>

namespace alisa::actors {
namespace {

using storage::block_key;
using storage::put_outcome;
using storage::put_result;

uint64_t free_bytes(const storage::block_store& s) {
  return s.bytes_used() >= s.budget_bytes() ? 0 : s.budget_bytes() - s.bytes_used();
}

}  // namespace

spread_block_store::spread_block_store(std::vector<std::unique_ptr<storage::block_store>> stores) {
  for (auto& s : stores) {
    assert(s != nullptr);
    children_.push_back({std::move(s), true});
  }
}

void spread_block_store::add_store(std::unique_ptr<storage::block_store> store) {
  assert(store != nullptr);
  children_.push_back({std::move(store), true});
}

uint64_t spread_block_store::budget_bytes() const {
  uint64_t sum = 0;
  for (const child& c : children_)
    if (c.alive) sum += c.store->budget_bytes();
  return sum;
}

uint64_t spread_block_store::bytes_used() const {
  uint64_t sum = 0;
  for (const child& c : children_)
    if (c.alive) sum += c.store->bytes_used();
  return sum;
}

bool spread_block_store::is_remote() const {
  return std::any_of(children_.begin(), children_.end(),
                     [](const child& c) { return c.store->is_remote(); });
}

size_t spread_block_store::num_live_stores() const {
  return static_cast<size_t>(std::count_if(children_.begin(), children_.end(),
                                           [](const child& c) { return c.alive; }));
}

std::vector<store_usage> spread_block_store::node_usage() const {
  std::vector<store_usage> out;
  for (const child& c : children_)
    out.push_back({std::string(c.store->name()), c.store->bytes_used(), c.store->budget_bytes(),
                   c.alive});
  return out;
}

// Candidates in the order of the header's placement rules, each live store once.
std::vector<size_t> spread_block_store::placement_order(const std::string& encoded,
                                                        const block_key& key,
                                                        uint64_t value_bytes) const {
  std::vector<size_t> order;
  if (auto it = location_.find(encoded); it != location_.end()) order.push_back(it->second);
  std::vector<size_t> live;
  for (size_t i = 0; i < children_.size(); ++i)
    if (children_[i].alive) live.push_back(i);
  if (live.empty()) return order;
  // Striped by block, and a block's hidden states one node further than its K and V: losing one
  // node never loses both the K/V of a block and what recomputes it.
  const size_t shift = key.part == kv_part::hidden ? 1 : 0;
  const size_t stripe = live[(key.block + shift) % live.size()];
  if (children_[stripe].store->can_store(value_bytes)) order.push_back(stripe);
  std::stable_sort(live.begin(), live.end(), [&](size_t a, size_t b) {
    return free_bytes(*children_[a].store) > free_bytes(*children_[b].store);
  });
  for (size_t i : live)
    if (std::find(order.begin(), order.end(), i) == order.end()) order.push_back(i);
  return order;
}

put_result spread_block_store::put(const block_key& key, std::string_view value) {
  std::string encoded = storage::encode_key(key);
  auto previous = location_.find(encoded);
  const bool had = previous != location_.end();
  const size_t old_child = had ? previous->second : 0;
  put_result last{put_outcome::full, {}};
  for (size_t i : placement_order(encoded, key, value.size())) {
    put_result r = children_[i].store->put(key, value);
    if (r.outcome == put_outcome::full) continue;
    if (r.outcome == put_outcome::failed) {
      last = r;
      if (had && i == old_child) location_.erase(encoded);  // the failed put removed it
      (void)check_alive(i, r.error);
      continue;  // another node may take it
    }
    if (had && i != old_child && children_[old_child].alive)
      (void)check_alive(old_child, children_[old_child].store->erase(key));
    location_[encoded] = i;
    return r;
  }
  return last;  // full everywhere, or the last failure
}

absl::Status spread_block_store::check_alive(size_t i, absl::Status s) {
  if (s.code() == absl::StatusCode::kUnavailable && children_[i].alive) drop(i);
  return s;
}

void spread_block_store::drop(size_t i) {
  children_[i].alive = false;
  std::erase_if(location_, [i](const auto& entry) { return entry.second == i; });
}

absl::StatusOr<size_t> spread_block_store::holder(const block_key& key) const {
  auto it = location_.find(storage::encode_key(key));
  if (it == location_.end())
    return absl::NotFoundError("spread store: no value for " + storage::to_string(key));
  return it->second;
}

absl::StatusOr<std::string_view> spread_block_store::read(const block_key& key,
                                                          std::span<const int32_t> offsets,
                                                          std::string& buffer, bool rows) {
  auto i = holder(key);
  if (!i.ok()) return i.status();
  storage::block_store& s = *children_[*i].store;
  auto value = rows ? s.get_rows(key, offsets, buffer) : s.get(key, buffer);
  if (value.ok() || value.status().code() != absl::StatusCode::kUnavailable) return value;
  (void)check_alive(*i, value.status());
  return absl::NotFoundError("spread store: " + storage::to_string(key) + " was on " +
                             std::string(s.name()) + ", which is gone: " +
                             std::string(value.status().message()));
}

std::vector<absl::StatusOr<std::string>> spread_block_store::get_rows_batch(
    std::span<const storage::row_request> requests) {
  std::vector<absl::StatusOr<std::string>> out(requests.size(),
                                               absl::NotFoundError("spread store: no value"));
  std::map<size_t, std::vector<size_t>> by_child;  // child -> indices into requests
  for (size_t r = 0; r < requests.size(); ++r) {
    auto i = holder(requests[r].key);
    if (i.ok())
      by_child[*i].push_back(r);
    else
      out[r] = i.status();
  }
  for (const auto& [child, indices] : by_child) {
    std::vector<storage::row_request> mine;
    for (size_t r : indices) mine.push_back(requests[r]);
    auto answers = children_[child].store->get_rows_batch(mine);
    for (size_t k = 0; k < indices.size(); ++k) {
      auto& answer = answers[k];
      if (!answer.ok() && answer.status().code() == absl::StatusCode::kUnavailable) {
        (void)check_alive(child, answer.status());
        answer = absl::NotFoundError("spread store: " + storage::to_string(requests[indices[k]].key) +
                                     " was on a memory node that is gone: " +
                                     std::string(answer.status().message()));
      }
      out[indices[k]] = std::move(answer);
    }
  }
  return out;
}

absl::StatusOr<std::string_view> spread_block_store::get(const block_key& key,
                                                         std::string& buffer) {
  return read(key, {}, buffer, /*rows=*/false);
}

absl::StatusOr<std::string_view> spread_block_store::get_rows(const block_key& key,
                                                              std::span<const int32_t> offsets,
                                                              std::string& buffer) {
  return read(key, offsets, buffer, /*rows=*/true);
}

absl::Status spread_block_store::erase(const block_key& key) {
  auto i = holder(key);
  if (!i.ok()) return absl::OkStatus();  // absent is OK
  location_.erase(storage::encode_key(key));
  absl::Status s = check_alive(*i, children_[*i].store->erase(key));
  return s.code() == absl::StatusCode::kUnavailable ? absl::OkStatus() : s;  // gone with its node
}

absl::Status spread_block_store::erase_sequence(uint64_t sequence) {
  location_.erase(location_.lower_bound(storage::sequence_begin_key(sequence)),
                  location_.lower_bound(storage::sequence_end_key(sequence)));
  absl::Status first_error;
  for (size_t i = 0; i < children_.size(); ++i) {
    if (!children_[i].alive) continue;
    absl::Status s = check_alive(i, children_[i].store->erase_sequence(sequence));
    if (!s.ok() && s.code() != absl::StatusCode::kUnavailable && first_error.ok()) first_error = s;
  }
  return first_error;
}

absl::Status spread_block_store::flush() {
  absl::Status first_error;
  for (size_t i = 0; i < children_.size(); ++i) {
    if (!children_[i].alive) continue;
    absl::Status s = check_alive(i, children_[i].store->flush());
    if (!s.ok() && s.code() != absl::StatusCode::kUnavailable && first_error.ok()) first_error = s;
  }
  return first_error;
}

}  // namespace alisa::actors
