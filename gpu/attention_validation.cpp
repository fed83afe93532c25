// attention_validation — see attention_validation.hpp.
#include "gpu/attention_validation.hpp"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace alisa::gpu {
namespace {

[[noreturn]] void fail(size_t index, const std::string& what) {
  throw std::invalid_argument("attention: item " + std::to_string(index) + ": " + what);
}

void validate_rows(const kv_rows& r, int64_t kv_dim, size_t index, const char* which) {
  if (r.kv_dim != kv_dim)
    fail(index, std::string(which) + ".kv_dim " + std::to_string(r.kv_dim) +
                    " != num_kv_heads * head_dim " + std::to_string(kv_dim));
  if (!r.data) fail(index, std::string(which) + " has no data");
  if (r.type == kv_dtype::i8 && (!r.minimum || !r.scale || !r.staging))
    fail(index, std::string(which) + " is int8 without minimum/scale/staging");
}

void validate_item(const attention_item& it, size_t index, const attention_shape& shape) {
  if (it.num_rows < 0 || it.past_len < 0)
    fail(index, "negative num_rows (" + std::to_string(it.num_rows) + ") or past_len (" +
                    std::to_string(it.past_len) + ")");
  if (it.num_rows == 0) return;
  if (!it.q || !it.out) fail(index, "q and out are required");
  const int64_t kv_dim = int64_t{shape.num_kv_heads} * shape.head_dim;
  validate_rows(it.keys, kv_dim, index, "keys");
  validate_rows(it.values, kv_dim, index, "values");
  if (it.mass && (it.mass_rows.num_rows < 0 || it.mass_rows.num_rows > it.num_rows))
    fail(index, "mass_rows.num_rows " + std::to_string(it.mass_rows.num_rows) +
                    " outside [0, num_rows = " + std::to_string(it.num_rows) + "]");
  if (!it.tokens || it.tokens->dense) return;
  const token_set& ts = *it.tokens;
  if (it.num_rows != 1)
    fail(index, "sparse attention needs exactly one query row, got " +
                    std::to_string(it.num_rows));
  if (ts.num_lists != 1 && ts.num_lists != shape.num_kv_heads)
    fail(index, "token_set.num_lists " + std::to_string(ts.num_lists) + " is neither 1 nor " +
                    "num_kv_heads " + std::to_string(shape.num_kv_heads));
  if (ts.list_size < 1) fail(index, "token_set.list_size " + std::to_string(ts.list_size) + " < 1");
  if (ts.positions.size() != static_cast<size_t>(ts.num_lists) * static_cast<size_t>(ts.list_size))
    fail(index, "token_set has " + std::to_string(ts.positions.size()) + " positions, expected " +
                    "num_lists * list_size = " + std::to_string(ts.num_lists * ts.list_size));
  const int64_t visible = int64_t{it.past_len} + it.num_rows;
  for (int l = 0; l < ts.num_lists; ++l) {
    const auto list = ts.list(l);
    for (size_t j = 0; j < list.size(); ++j) {
      if (list[j] < 0 || list[j] >= visible)
        fail(index, "token_set list " + std::to_string(l) + " position " +
                        std::to_string(list[j]) + " outside [0, " + std::to_string(visible) + ")");
      if (j > 0 && list[j] <= list[j - 1])
        fail(index, "token_set list " + std::to_string(l) + " is not strictly ascending at entry " +
                        std::to_string(j) + " (" + std::to_string(list[j - 1]) + ", " +
                        std::to_string(list[j]) + ")");
    }
  }
}

}  // namespace

void validate_attention_shape(const attention_shape& shape) {
  if (shape.num_heads <= 0 || shape.num_kv_heads <= 0 || shape.head_dim <= 0 ||
      shape.num_heads % shape.num_kv_heads != 0)
    throw std::invalid_argument("attention: num_heads must be a positive multiple of num_kv_heads");
}

void validate_attention_items(std::span<const attention_item> items, const attention_shape& shape) {
  for (size_t i = 0; i < items.size(); ++i) validate_item(items[i], i, shape);
}

void validate_attention(std::span<const attention_item> items, const attention_shape& shape) {
  validate_attention_shape(shape);
  validate_attention_items(items, shape);
}

}  // namespace alisa::gpu
