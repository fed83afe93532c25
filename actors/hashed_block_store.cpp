#include "actors/hashed_block_store.hpp"

#include <stdexcept>

#include "proto/mix64.hpp"

namespace alisa::actors {
namespace {

uint64_t hash_bytes(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a, then mixed
  for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ull;
  return mix64(h);
}

}  // namespace

void hashed_block_store::add_store(std::string label, std::unique_ptr<storage::block_store> store) {
  if (!store) throw std::invalid_argument("hashed_block_store: null store");
  const uint64_t h = hash_bytes(label);
  children_.push_back({std::move(label), h, std::move(store), true});
}

hashed_block_store::child* hashed_block_store::owner(const storage::block_key& key) {
  const uint64_t k = hash_bytes(storage::encode_key(key));
  child* best = nullptr;
  uint64_t best_score = 0;
  for (auto& c : children_) {
    const uint64_t score = mix64(k ^ c.label_hash);
    if (!best || score > best_score) {
      best = &c;
      best_score = score;
    }
  }
  return best;
}

absl::Status hashed_block_store::check_alive(child& c, absl::Status s) {
  if (absl::IsUnavailable(s)) c.alive = false;
  return s;
}

uint64_t hashed_block_store::budget_bytes() const {
  uint64_t sum = 0;
  for (const auto& c : children_)
    if (c.alive) sum += c.store->budget_bytes();
  return sum;
}

uint64_t hashed_block_store::bytes_used() const {
  uint64_t sum = 0;
  for (const auto& c : children_) sum += c.store->bytes_used();
  return sum;
}

size_t hashed_block_store::num_values() const {
  size_t sum = 0;
  for (const auto& c : children_) sum += c.store->num_values();
  return sum;
}

storage::put_result hashed_block_store::put(const storage::block_key& key, std::string_view value) {
  child* c = owner(key);
  if (!c) return {storage::put_outcome::failed, absl::UnavailableError("hashed store: no memory node")};
  if (!c->alive)
    return {storage::put_outcome::failed,
            absl::UnavailableError("hashed store: memory node " + c->label + " is gone")};
  storage::put_result r = c->store->put(key, value);
  if (r.outcome == storage::put_outcome::failed) check_alive(*c, r.error).IgnoreError();
  return r;
}

absl::StatusOr<std::string_view> hashed_block_store::get(const storage::block_key& key,
                                                         std::string& buffer) {
  child* c = owner(key);
  if (!c || !c->alive) return absl::NotFoundError("hashed store: " + to_string(key) + ": its node is gone");
  auto got = c->store->get(key, buffer);
  if (!got.ok()) return check_alive(*c, got.status());
  return got;
}

std::vector<absl::StatusOr<std::string>> hashed_block_store::get_rows_batch(
    std::span<const storage::row_request> requests) {
  std::vector<absl::StatusOr<std::string>> out(requests.size(), absl::NotFoundError("hashed store: its node is gone"));
  std::vector<std::vector<size_t>> by_child(children_.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    child* c = owner(requests[i].key);
    if (c && c->alive) by_child[static_cast<size_t>(c - children_.data())].push_back(i);
  }
  for (size_t ci = 0; ci < children_.size(); ++ci) {
    if (by_child[ci].empty()) continue;
    std::vector<storage::row_request> mine;
    for (size_t i : by_child[ci]) mine.push_back(requests[i]);
    auto got = children_[ci].store->get_rows_batch(mine);
    for (size_t j = 0; j < got.size() && j < by_child[ci].size(); ++j) {
      if (!got[j].ok()) check_alive(children_[ci], got[j].status()).IgnoreError();
      out[by_child[ci][j]] = std::move(got[j]);
    }
  }
  return out;
}

absl::Status hashed_block_store::erase(const storage::block_key& key) {
  child* c = owner(key);
  if (!c || !c->alive) return absl::OkStatus();
  return check_alive(*c, c->store->erase(key));
}

absl::Status hashed_block_store::erase_sequence(uint64_t sequence) {
  absl::Status first;
  for (auto& c : children_) {
    if (!c.alive) continue;
    absl::Status s = check_alive(c, c.store->erase_sequence(sequence));
    if (first.ok()) first = s;
  }
  return first;
}

}  // namespace alisa::actors
