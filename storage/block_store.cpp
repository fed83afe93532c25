#include "storage/block_store.hpp"

#include "storage/block_codec.hpp"

namespace alisa::storage {
namespace {

absl::Status check_offsets(const block_view& view, std::span<const int32_t> offsets) {
  for (int32_t off : offsets) {
    if (off < 0 || static_cast<uint32_t>(off) >= view.header.num_tokens)
      return absl::InvalidArgumentError("row offset " + std::to_string(off) +
                                        " outside a block of " +
                                        std::to_string(view.header.num_tokens) + " tokens");
  }
  return absl::OkStatus();
}

// The value re-encoded with only the rows at `offsets` (fresh CRC over the new header and rows).
std::string slice_rows(const block_view& view, std::span<const int32_t> offsets) {
  std::string rows;
  rows.reserve(offsets.size() * view.header.row_bytes);
  for (int32_t off : offsets) rows.append(view.row(off));
  block_header header = view.header;
  header.num_tokens = static_cast<uint32_t>(offsets.size());
  return encode_block(header, rows, view.stats);
}

}  // namespace

absl::StatusOr<std::string> block_store::rows_of(const block_key& key, std::string_view whole,
                                                 std::span<const int32_t> offsets) const {
  if (offsets.empty()) return std::string(whole);
  auto view = decode_block(whole, verifies_on_read());
  if (!view.ok())
    return absl::DataLossError(std::string(name()) + " store: " + to_string(key) + ": " +
                               std::string(view.status().message()));
  if (auto s = check_offsets(*view, offsets); !s.ok()) return s;
  return slice_rows(*view, offsets);
}

absl::StatusOr<std::string_view> block_store::get_rows(const block_key& key,
                                                       std::span<const int32_t> offsets,
                                                       std::string& buffer) {
  if (offsets.empty()) return get(key, buffer);
  // get() may fill `buffer` (RocksDB), and the slice is written to `buffer`: read elsewhere.
  std::string whole_buffer;
  auto whole = get(key, whole_buffer);
  if (!whole.ok()) return whole.status();
  auto rows = rows_of(key, *whole, offsets);
  if (!rows.ok()) return rows.status();
  buffer = std::move(*rows);
  return std::string_view(buffer);
}

std::vector<absl::StatusOr<std::string>> block_store::get_rows_batch(
    std::span<const row_request> requests) {
  std::vector<absl::StatusOr<std::string>> out;
  out.reserve(requests.size());
  std::string buffer;
  for (const row_request& r : requests) {
    auto value = get_rows(r.key, r.offsets, buffer);
    if (value.ok())
      out.emplace_back(std::string(*value));
    else
      out.emplace_back(value.status());
  }
  return out;
}

}  // namespace alisa::storage
