#pragma once
// attention_validation — the checks every backend's attention() makes before any work, with one
// set of messages (std::invalid_argument, "attention: ..."), so the CPU and CUDA backends reject
// the same items in the same words. See gpu/backend.hpp attention_item for the contract.
#include <span>

#include "gpu/backend.hpp"

namespace alisa::gpu {

// Throws std::invalid_argument unless num_heads is a positive multiple of num_kv_heads and
// head_dim is positive.
void validate_attention_shape(const attention_shape& shape);

// Throws std::invalid_argument naming the first malformed item ("attention: item <i>: ..."):
// negative num_rows or past_len; missing q/out; keys/values without data, of the wrong kv_dim, or
// int8 without statistics/staging; mass_rows.num_rows outside [0, num_rows] when mass is set;
// sparse with several rows; num_lists neither 1 nor num_kv_heads; list_size < 1; a positions
// count other than num_lists * list_size; a position outside [0, past_len + num_rows); a list not
// strictly ascending. Items with num_rows == 0 only have their counts checked.
void validate_attention_items(std::span<const attention_item> items, const attention_shape& shape);

// Both of the above: the shape, then every item.
void validate_attention(std::span<const attention_item> items, const attention_shape& shape);

}  // namespace alisa::gpu
