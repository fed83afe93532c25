#include "actors/remote_block_store.hpp"

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/make_message.hpp>
#include <caf/message_id.hpp>
#include <caf/sec.hpp>
#include <caf/scoped_actor.hpp>

#include <cstring>
#include <optional>
#include <utility>

#include "proto/caf_messages.hpp"
#include "proto/messages.hpp"

namespace alisa::actors {
namespace {

using storage::block_key;
using storage::put_outcome;
using storage::put_result;

kv_fetch fetch_of(const block_key& key, std::span<const int32_t> offsets) {
  return {seq_id{key.sequence}, key.layer, key.part, key.block,
          std::vector<int32_t>(offsets.begin(), offsets.end())};
}

kv_payload payload_of(const block_key& key, std::string_view value) {
  kv_payload p{seq_id{key.sequence}, key.layer, key.part, key.block, {}, {}};
  p.bytes.resize(value.size());
  if (!value.empty()) std::memcpy(p.bytes.data(), value.data(), value.size());
  return p;
}

// Fails the awaited request the moment the tier is found gone. A request whose tier dies in
// flight may get no reply at all (a remote node drops requests for actors it no longer has), so
// waiting for the reply alone would cost the whole timeout; CAF runs the functor attached to the
// tier (or its proxy) on exit, and the functor answers the awaited request itself.
struct down_watch {
  std::shared_ptr<std::atomic<bool>> dead;
  std::atomic<uint64_t> awaited{0};  // the response id awaited now (integer value); 0 = none
  caf::weak_actor_ptr requester;     // the scoped actor; weak: the tier must not keep it alive

  void fail_awaited() {
    const uint64_t id = awaited.load();
    if (id == 0) return;
    if (auto self = requester.lock())
      self->enqueue(nullptr, caf::message_id(id),
                    caf::make_message(caf::make_error(caf::sec::request_receiver_down)), nullptr);
  }
};

}  // namespace

// One blocking request at a time through a scoped actor; the reply is a T or a caf::error.
struct remote_block_store::channel {
  channel(caf::actor_system& sys, caf::actor t, std::chrono::milliseconds limit)
      : system(sys), self(sys, /*hide=*/true), tier(std::move(t)), timeout(limit),
        watch(std::make_shared<down_watch>()) {
    watch->dead = std::make_shared<std::atomic<bool>>(false);
    watch->requester = caf::actor_cast<caf::weak_actor_ptr>(self);
    // Runs when the tier exits or its node is lost, at once if that already happened.
    caf::actor_cast<caf::abstract_actor*>(tier)->attach_functor([w = watch](const caf::error&) {
      w->dead->store(true);
      w->fail_awaited();
    });
  }

  template <class T, class Request>
  std::optional<T> ask(Request&& request, caf::error& err) {
    std::optional<T> out;
    auto handle = self->request(tier, timeout, std::forward<Request>(request));
    watch->awaited.store(handle.id().integer_value());
    if (watch->dead->load()) watch->fail_awaited();  // died before `awaited` was set
    handle.receive([&](T& reply) { out = std::move(reply); },
                   [&](caf::error& e) { err = std::move(e); });
    watch->awaited.store(0);
    return out;
  }

  caf::actor_system& system;
  caf::scoped_actor self;
  caf::actor tier;
  std::chrono::milliseconds timeout;
  std::shared_ptr<down_watch> watch;
};

remote_block_store::remote_block_store(std::unique_ptr<channel> ch, std::string name)
    : channel_(std::move(ch)), name_(std::move(name)), dead_(channel_->watch->dead) {}

remote_block_store::~remote_block_store() = default;

absl::Status remote_block_store::dead_error() const {
  return absl::UnavailableError("memory tier " + name_ + " is gone (an earlier request failed)");
}

namespace {

// The tier's own answers keep their meaning; anything else (timeout, tier gone, transport) means
// the tier is unreachable and the caller's store is dead.
absl::Status to_status(const caf::actor_system& system, const std::string& name,
                       const caf::error& err, bool& unreachable) {
  std::string why = "memory tier " + name + ": " + system.render(err);
  unreachable = err.category() != tier_error_category;
  if (unreachable) return absl::UnavailableError(std::move(why));
  switch (static_cast<tier_error>(err.code())) {
    case tier_error::not_found: return absl::NotFoundError(std::move(why));
    case tier_error::data_loss: return absl::DataLossError(std::move(why));
    case tier_error::invalid_argument: return absl::InvalidArgumentError(std::move(why));
    case tier_error::io_error: break;
  }
  return absl::UnavailableError(std::move(why));
}

}  // namespace

absl::Status remote_block_store::request_failed(const caf::error& err) {
  bool unreachable = false;
  absl::Status s = to_status(channel_->system, name_, err, unreachable);
  if (unreachable) dead_->store(true);
  return s;
}

put_result remote_block_store::put(const block_key& key, std::string_view value) {
  if (!alive()) return {put_outcome::failed, dead_error()};
  caf::error err;
  auto reply = channel_->ask<kv_put_result>(payload_of(key, value), err);
  std::string encoded = storage::encode_key(key);
  if (!reply) {
    forget(encoded);  // the contract: after failed the key is absent (or, here, unknowable)
    return {put_outcome::failed, request_failed(err)};
  }
  const auto outcome = static_cast<put_outcome>(reply->outcome);
  if (outcome == put_outcome::full) return {put_outcome::full, {}};
  forget(encoded);
  if (outcome != put_outcome::stored)
    return {put_outcome::failed,
            absl::UnavailableError("memory tier " + name_ + ": " + reply->error)};
  bytes_used_ += value.size();
  value_bytes_.emplace(std::move(encoded), value.size());
  return {};
}

absl::StatusOr<std::string_view> remote_block_store::get(const block_key& key,
                                                         std::string& buffer) {
  return get_rows(key, {}, buffer);
}

absl::StatusOr<std::string_view> remote_block_store::get_rows(const block_key& key,
                                                              std::span<const int32_t> offsets,
                                                              std::string& buffer) {
  if (!alive()) return dead_error();
  caf::error err;
  auto reply = channel_->ask<kv_payload>(fetch_of(key, offsets), err);
  if (!reply) {
    return request_failed(err);
  }
  buffer.assign(reinterpret_cast<const char*>(reply->bytes.data()), reply->bytes.size());
  return std::string_view(buffer);
}

std::vector<absl::StatusOr<std::string>> remote_block_store::get_rows_batch(
    std::span<const storage::row_request> requests) {
  std::vector<absl::StatusOr<std::string>> out;
  out.reserve(requests.size());
  if (!alive()) {
    out.assign(requests.size(), dead_error());
    return out;
  }
  kv_fetch_batch batch;
  batch.fetches.reserve(requests.size());
  for (const auto& r : requests) batch.fetches.push_back(fetch_of(r.key, r.offsets));
  caf::error err;
  auto reply = channel_->ask<kv_payload_batch>(std::move(batch), err);
  if (!reply || reply->payloads.size() != requests.size() ||
      reply->status.size() != requests.size()) {
    const absl::Status s = reply ? absl::UnavailableError("memory tier " + name_ +
                                                          ": a batch reply of the wrong size")
                                 : request_failed(err);
    out.assign(requests.size(), s);
    return out;
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& bytes = reply->payloads[i].bytes;
    if (reply->status[i] == 0) {
      out.emplace_back(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
      continue;
    }
    bool unreachable = false;
    const auto code = static_cast<tier_error>(reply->status[i]);
    out.emplace_back(to_status(channel_->system, name_, caf::make_error(code, to_string(code)),
                               unreachable));
  }
  return out;
}

absl::Status remote_block_store::erase(const block_key& key) {
  if (!alive()) return dead_error();
  caf::error err;
  kv_erase request{seq_id{key.sequence}, false, key.layer, key.part, key.block};
  auto reply = channel_->ask<kv_erase_result>(std::move(request), err);
  forget(storage::encode_key(key));
  if (!reply) {
    return request_failed(err);
  }
  return erase_status(*reply);
}

absl::Status remote_block_store::erase_sequence(uint64_t sequence) {
  auto first = value_bytes_.lower_bound(storage::sequence_begin_key(sequence));
  auto last = value_bytes_.lower_bound(storage::sequence_end_key(sequence));
  for (auto it = first; it != last; ++it) bytes_used_ -= it->second;
  value_bytes_.erase(first, last);
  if (!alive()) return dead_error();
  caf::error err;
  kv_erase request{seq_id{sequence}, /*whole_sequence=*/true, 0, kv_part::keys, 0};
  auto reply = channel_->ask<kv_erase_result>(std::move(request), err);
  if (!reply) {
    return request_failed(err);
  }
  return erase_status(*reply);
}

absl::Status remote_block_store::erase_status(const kv_erase_result& reply) const {
  if (reply.error.empty()) return absl::OkStatus();
  return absl::UnavailableError("memory tier " + name_ + ": " + reply.error);
}

void remote_block_store::forget(const std::string& encoded_key) {
  auto it = value_bytes_.find(encoded_key);
  if (it == value_bytes_.end()) return;
  bytes_used_ -= it->second;
  value_bytes_.erase(it);
}

absl::StatusOr<std::unique_ptr<remote_block_store>> connect_remote_block_store(
    caf::actor_system& system, const caf::actor& tier, remote_block_store_options options) {
  if (!tier) return absl::InvalidArgumentError("memory tier " + options.name + ": no actor");
  if (options.timeout.count() <= 0)
    return absl::InvalidArgumentError("memory tier " + options.name + ": timeout must be > 0");
  auto ch = std::make_unique<remote_block_store::channel>(system, tier, options.timeout);
  caf::error err;
  auto usage = ch->ask<tier_usage>(tier_usage_request{}, err);
  if (!usage)
    return absl::UnavailableError("memory tier " + options.name + " unreachable: " +
                                  system.render(err));
  std::unique_ptr<remote_block_store> store(
      new remote_block_store(std::move(ch), std::move(options.name)));
  store->budget_bytes_ = usage->host_budget + usage->nvme_budget;
  return store;
}

}  // namespace alisa::actors
