#include "actors/memory_tier.hpp"

#include <caf/actor_system.hpp>
#include <caf/result.hpp>

#include <cstring>
#include <utility>

#include "proto/caf_messages.hpp"
#include "proto/messages.hpp"
#include "storage/ram_store.hpp"
#include "storage/rocksdb_store.hpp"

namespace alisa::actors {
namespace {

using storage::block_key;

block_key key_of(const kv_fetch& f) { return {f.sequence.value, f.layer, f.part, f.block}; }
block_key key_of(const kv_payload& p) { return {p.sequence.value, p.layer, p.part, p.block}; }
block_key key_of(const kv_erase& e) { return {e.sequence.value, e.layer, e.part, e.block}; }

std::string_view bytes_view(const std::vector<std::byte>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// absl codes of a failed store read -> the protocol's error codes.
caf::error to_error(const absl::Status& s) {
  std::string why(s.message());
  switch (s.code()) {
    case absl::StatusCode::kNotFound: return caf::make_error(tier_error::not_found, std::move(why));
    case absl::StatusCode::kDataLoss: return caf::make_error(tier_error::data_loss, std::move(why));
    case absl::StatusCode::kInvalidArgument:
      return caf::make_error(tier_error::invalid_argument, std::move(why));
    default: return caf::make_error(tier_error::io_error, std::move(why));
  }
}

// A prefix block was stored or read: it is the most recently used.
void touch_prefix(memory_tier_state& st, const block_key& key) {
  std::string encoded = storage::encode_key(key);
  if (auto it = st.prefix_index.find(encoded); it != st.prefix_index.end()) {
    st.prefix_lru.splice(st.prefix_lru.begin(), st.prefix_lru, it->second);
    return;
  }
  st.prefix_lru.push_front(encoded);
  st.prefix_index.emplace(std::move(encoded), st.prefix_lru.begin());
}

void forget_prefix(memory_tier_state& st, const block_key& key) {
  if (auto it = st.prefix_index.find(storage::encode_key(key)); it != st.prefix_index.end()) {
    st.prefix_lru.erase(it->second);
    st.prefix_index.erase(it);
  }
}

// A read of a prefix block refreshes it; one found missing or damaged is forgotten.
void note_prefix_read(memory_tier_state& st, const kv_fetch& f, const absl::Status& result) {
  if (f.part != kv_part::prefix) return;
  if (result.ok())
    touch_prefix(st, key_of(f));
  else if (absl::IsDataLoss(result) || absl::IsNotFound(result))
    forget_prefix(st, key_of(f));
}

// Drops the least recently used prefix block; false when none is left.
bool evict_prefix(memory_tier_state& st) {
  if (st.prefix_lru.empty()) return false;
  const auto key = storage::decode_key(st.prefix_lru.back());
  forget_prefix(st, *key);
  st.store->erase(*key).IgnoreError();  // an I/O error leaves it counted: the loop tries the next
  return true;
}

kv_put_result put_value(memory_tier_state& st, const kv_payload& p) {
  if (!p.offsets.empty())
    return {static_cast<uint8_t>(kv_put_outcome::failed),
            "memory tier: a put must carry a whole value (offsets must be empty)"};
  const block_key key = key_of(p);
  storage::put_result r = st.store->put(key, bytes_view(p.bytes));
  while (r.outcome == storage::put_outcome::full && evict_prefix(st))
    r = st.store->put(key, bytes_view(p.bytes));
  if (r.outcome == storage::put_outcome::stored) {
    if (key.part == kv_part::prefix)
      touch_prefix(st, key);
    else
      st.sequences.insert(p.sequence.value);
  }
  return {static_cast<uint8_t>(r.outcome), std::string(r.error.message())};
}

// The tier_error code of a failed store read (as to_error() maps it).
uint8_t error_code(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kNotFound: return static_cast<uint8_t>(tier_error::not_found);
    case absl::StatusCode::kDataLoss: return static_cast<uint8_t>(tier_error::data_loss);
    case absl::StatusCode::kInvalidArgument:
      return static_cast<uint8_t>(tier_error::invalid_argument);
    default: return static_cast<uint8_t>(tier_error::io_error);
  }
}

// Every fetch of the batch, each answered on its own (a miss does not fail the others).
kv_payload_batch fetch_batch(memory_tier_state& st, const kv_fetch_batch& batch) {
  kv_payload_batch out;
  out.payloads.reserve(batch.fetches.size());
  out.status.reserve(batch.fetches.size());
  for (const kv_fetch& f : batch.fetches) {
    kv_payload p{f.sequence, f.layer, f.part, f.block, f.offsets, {}};
    auto rows = st.store->get_rows(key_of(f), f.offsets, st.buffer);
    note_prefix_read(st, f, rows.status());
    out.status.push_back(rows.ok() ? 0 : error_code(rows.status()));
    if (rows.ok()) {
      p.bytes.resize(rows->size());
      if (!rows->empty()) std::memcpy(p.bytes.data(), rows->data(), rows->size());
    }
    out.payloads.push_back(std::move(p));
  }
  return out;
}

caf::result<kv_payload> fetch_rows(memory_tier_state& st, const kv_fetch& f) {
  auto rows = st.store->get_rows(key_of(f), f.offsets, st.buffer);
  note_prefix_read(st, f, rows.status());
  if (!rows.ok()) return to_error(rows.status());
  kv_payload out{f.sequence, f.layer, f.part, f.block, f.offsets, {}};
  out.bytes.resize(rows->size());
  if (!rows->empty()) std::memcpy(out.bytes.data(), rows->data(), rows->size());
  return out;
}

// Every sequence numbered by the owner: ids (owner << 32) .. (owner << 32) | 0xffffffff.
kv_erase_result erase_owner(memory_tier_state& st, const kv_erase_owner& e) {
  const uint64_t first = uint64_t{e.owner} << 32;
  const uint64_t last = first | 0xffffffffULL;
  std::string first_error;
  auto it = st.sequences.lower_bound(first);
  while (it != st.sequences.end() && *it <= last) {
    const absl::Status s = st.store->erase_sequence(*it);
    if (!s.ok() && first_error.empty()) first_error = std::string(s.message());
    it = st.sequences.erase(it);
  }
  return {first_error};
}

kv_erase_result erase_values(memory_tier_state& st, const kv_erase& e) {
  if (e.whole_sequence) st.sequences.erase(e.sequence.value);
  if (!e.whole_sequence && e.part == kv_part::prefix) forget_prefix(st, key_of(e));
  const absl::Status s = e.whole_sequence ? st.store->erase_sequence(e.sequence.value)
                                          : st.store->erase(key_of(e));
  return {std::string(s.message())};
}

tier_usage usage_of(const memory_tier_state& st) {
  const storage::spill_store& s = *st.store;
  return {st.node, s.ram_bytes_used(), s.ram_budget_bytes(), s.disk_bytes_used(),
          s.disk_budget_bytes()};
}

caf::behavior serve(caf::stateful_actor<memory_tier_state>* self) {
  self->set_default_handler(caf::drop);
  auto& st = self->state;
  return {
      [&st](const kv_payload& p) { return put_value(st, p); },
      [&st](const kv_fetch& f) { return fetch_rows(st, f); },
      [&st](const kv_fetch_batch& b) { return fetch_batch(st, b); },
      [&st](const kv_erase& e) { return erase_values(st, e); },
      [&st](const kv_erase_owner& e) { return erase_owner(st, e); },
      [&st](const tier_usage_request&) { return usage_of(st); },
  };
}

// Spawn arguments must be copyable: the opened store travels in a shared holder.
using store_holder = std::shared_ptr<std::unique_ptr<storage::spill_store>>;

caf::behavior memory_tier_with_store(caf::stateful_actor<memory_tier_state>* self, node_id node,
                                     store_holder store) {
  self->state.node = node;
  self->state.store = std::move(*store);
  return serve(self);
}

}  // namespace

absl::StatusOr<std::unique_ptr<storage::spill_store>> open_memory_tier_store(
    const memory_tier_options& options) {
  if (!options.nvme_dir.empty() && options.nvme_budget == 0)
    return absl::InvalidArgumentError("memory tier: nvme_dir " + options.nvme_dir +
                                      " needs an nvme_budget > 0");
  std::unique_ptr<storage::block_store> disk;
  if (!options.nvme_dir.empty()) {
    auto opened = storage::open_rocksdb_store(
        {options.nvme_dir, options.nvme_budget, options.nvme_write_buffer});
    if (!opened.ok()) return opened.status();
    disk = std::move(*opened);
  }
  return storage::make_spill_store(storage::make_ram_store(options.host_budget), std::move(disk));
}

caf::behavior memory_tier(caf::stateful_actor<memory_tier_state>* self,
                          memory_tier_options options) {
  auto store = open_memory_tier_store(options);
  if (!store.ok()) {
    self->quit(caf::make_error(tier_error::io_error, std::string(store.status().message())));
    return {};
  }
  self->state.node = options.node;
  self->state.store = std::move(*store);
  return serve(self);
}

absl::StatusOr<caf::actor> spawn_memory_tier(caf::actor_system& system,
                                             const memory_tier_options& options) {
  auto store = open_memory_tier_store(options);
  if (!store.ok()) return store.status();
  auto holder = std::make_shared<std::unique_ptr<storage::spill_store>>(std::move(*store));
  // Not detached, although RocksDB calls block: CAF 0.17 can hang in ~actor_system waiting for a
  // detached actor's thread (actor-framework issue #1196, fixed in 0.18); seen here about once in
  // twenty loopback runs. A put mostly hits RocksDB's memtable, so the stall per call is short.
  return system.spawn(memory_tier_with_store, options.node, std::move(holder));
}

}  // namespace alisa::actors
