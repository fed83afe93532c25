#pragma once
// Strong ids: a request_id cannot be passed where a seq_id is expected.
#include <compare>
#include <cstdint>
#include <functional>

namespace alisa {

template <class Tag>
struct strong_id {
  uint64_t value = 0;
  friend auto operator<=>(const strong_id&, const strong_id&) = default;
};

struct request_tag;
struct seq_tag;
struct node_tag;
struct block_tag;
using request_id = strong_id<request_tag>;
using seq_id = strong_id<seq_tag>;
using node_id = strong_id<node_tag>;
using block_id = strong_id<block_tag>;

}  // namespace alisa

template <class Tag>
struct std::hash<alisa::strong_id<Tag>> {
  size_t operator()(const alisa::strong_id<Tag>& id) const noexcept {
    return std::hash<uint64_t>{}(id.value);
  }
};
