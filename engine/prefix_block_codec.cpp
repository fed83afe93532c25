#include "engine/prefix_block_codec.hpp"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "storage/checksum.hpp"

namespace alisa::engine {
namespace {

constexpr std::string_view magic = "APFX";
constexpr uint32_t format_version = 1;
// magic, version, key, parent, depth and two row sizes, tokens.
constexpr size_t header_bytes = 4 + 4 + 16 + 16 + 12 + kv_block_tokens * 4;
constexpr size_t crc_bytes = 4;

template <class T>
void append(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // little-endian hosts only (x86-64, aarch64)
  out.append(bytes, sizeof(T));
}

template <class T>
T read(std::string_view in, size_t& at) {
  T value;
  std::memcpy(&value, in.data() + at, sizeof(T));
  at += sizeof(T);
  return value;
}

void append_floats(std::string& out, const std::vector<float>& v) {
  out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

void read_floats(std::string_view in, size_t& at, std::vector<float>& v, size_t n) {
  // One pass (resize would zero the floats first). The payload starts at a multiple of 4 bytes.
  const auto* first = reinterpret_cast<const float*>(in.data() + at);
  v.assign(first, first + n);
  at += n * sizeof(float);
}

}  // namespace

storage::block_key prefix_store_key(const prefix_key& key) {
  return {key.hi, static_cast<uint16_t>(key.lo >> 48), kv_part::prefix,
          static_cast<uint32_t>(key.lo)};
}

std::string encode_prefix_block(const prefix_block& b) {
  std::string out;
  out.reserve(header_bytes + b.num_bytes() + crc_bytes);
  out.append(magic);
  append(out, format_version);
  append(out, b.key.hi);
  append(out, b.key.lo);
  append(out, b.parent.hi);
  append(out, b.parent.lo);
  // The floats of one token's keys over every layer (num_layers × kv_dim), and of its hidden
  // rows: with the token count fixed, they give the payload's size.
  const uint32_t kv_row_floats = static_cast<uint32_t>(b.keys.size() / kv_block_tokens);
  append(out, b.depth);
  append(out, kv_row_floats);
  append(out, static_cast<uint32_t>(b.hidden.size() / kv_block_tokens));
  for (int32_t t : b.tokens) append(out, t);
  append_floats(out, b.keys);
  append_floats(out, b.values);
  append_floats(out, b.hidden);
  append(out, storage::crc32(out));
  return out;
}

absl::StatusOr<prefix_block> decode_prefix_block(std::string_view bytes, const prefix_key& key,
                                                 const prefix_key& parent,
                                                 std::span<const int32_t> tokens,
                                                 const prefix_cache_shape& shape) {
  if (bytes.size() < header_bytes + crc_bytes)
    return absl::DataLossError(absl::StrCat("prefix block of ", bytes.size(), " bytes is truncated"));
  if (bytes.substr(0, 4) != magic) return absl::DataLossError("prefix block: bad magic");
  size_t crc_at = bytes.size() - crc_bytes;
  if (storage::crc32(bytes.substr(0, crc_at)) != read<uint32_t>(bytes, crc_at))
    return absl::DataLossError("prefix block: checksum mismatch");
  size_t at = 4;
  if (const auto v = read<uint32_t>(bytes, at); v != format_version)
    return absl::DataLossError(absl::StrCat("prefix block: format version ", v, ", expected ", format_version));
  prefix_block b;
  b.key.hi = read<uint64_t>(bytes, at);
  b.key.lo = read<uint64_t>(bytes, at);
  b.parent.hi = read<uint64_t>(bytes, at);
  b.parent.lo = read<uint64_t>(bytes, at);
  b.depth = read<uint32_t>(bytes, at);
  const uint32_t kv_row_floats = read<uint32_t>(bytes, at);
  const uint32_t hidden_row_floats = read<uint32_t>(bytes, at);
  for (auto& t : b.tokens) t = read<int32_t>(bytes, at);
  const size_t kv_floats = shape.block_floats();
  const size_t stored_hidden = size_t{hidden_row_floats} * kv_block_tokens;
  if (bytes.size() != header_bytes + (2 * size_t{kv_row_floats} * kv_block_tokens + stored_hidden) *
                                         sizeof(float) + crc_bytes)
    return absl::DataLossError(absl::StrCat("prefix block: ", bytes.size(), " bytes do not match its sizes"));
  if (!(b.key == key) || !(b.parent == parent) ||
      !std::equal(tokens.begin(), tokens.end(), b.tokens.begin(), b.tokens.end()))
    return absl::FailedPreconditionError("prefix block: another block under this key");
  // Hidden rows are only needed by a tiered engine; one without them can still use the K/V.
  if (kv_row_floats != static_cast<size_t>(shape.num_layers) * shape.kv_dim ||
      (shape.keep_hidden && stored_hidden != shape.hidden_floats()))
    return absl::FailedPreconditionError(shape.keep_hidden && hidden_row_floats == 0
                                             ? "prefix block: no hidden rows (stored by an untiered engine)"
                                             : "prefix block: another model's shape");
  read_floats(bytes, at, b.keys, kv_floats);
  read_floats(bytes, at, b.values, kv_floats);
  read_floats(bytes, at, b.hidden, shape.hidden_floats());
  return b;
}

}  // namespace alisa::engine
