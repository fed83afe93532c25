#pragma once
// gguf — parser for llama.cpp's GGUF container (versions 2 and 3), written for untrusted files:
//
//   "GGUF" | version u32 | tensor count u64 | metadata count u64
//   metadata: key (string) | value type u32 | value            strings: u64 length | bytes
//   tensor infos: name | n_dims u32 | dims u64[n_dims] | ggml type u32 | offset u64
//   padding to `general.alignment` (default 32) | tensor data (offsets relative to here)
//
// All little-endian. Every claim is checked before anything is handed out: counts and lengths
// against the bytes left (no allocation a corrupt count could inflate), value and tensor types
// known (unsupported tensor types refused by name, e.g. "Q4_K"), keys and tensor names unique,
// arrays not nested, dimensions 1..4 and positive with no overflow, the alignment a power of two,
// every tensor's offset aligned, its bytes (by type and block size) inside the data section, and
// no two tensors overlapping. Errors are one line naming the file and what is wrong.
//
// Dimensions are GGUF's: dims[0] varies fastest (a [out, in] weight is dims {in, out}).
// Pure parsing: the views point into the caller's bytes.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

namespace alisa::model {

// Tensor element types alisa reads (ggml's numbering). Others are refused by their ggml name.
enum class ggml_type : uint32_t { f32 = 0, f16 = 1, q4_0 = 2, q8_0 = 8, bf16 = 30 };

std::string_view to_string(ggml_type t);
// Elements per block and bytes per block (f32: 1 and 4; q8_0: 32 and 34; q4_0: 32 and 18).
int64_t ggml_block_elements(ggml_type t);
int64_t ggml_block_bytes(ggml_type t);

// One metadata value. Arrays hold scalars or strings of one type (GGUF's element type).
using gguf_scalar = std::variant<uint64_t, int64_t, double, bool, std::string>;
struct gguf_value {
  gguf_scalar scalar;                // when !is_array
  bool is_array = false;
  std::vector<gguf_scalar> array;    // when is_array
  uint32_t type = 0;                 // GGUF's value type (the element type for arrays)
};

struct gguf_tensor {
  std::string name;
  std::vector<int64_t> dims;  // dims[0] fastest
  ggml_type type = ggml_type::f32;
  const std::byte* data = nullptr;
  size_t num_bytes = 0;

  int64_t num_elements() const {
    int64_t n = 1;
    for (auto d : dims) n *= d;
    return n;
  }
};

struct gguf_file {
  uint32_t version = 0;
  size_t alignment = 32;
  std::map<std::string, gguf_value> metadata;
  std::map<std::string, gguf_tensor> tensors;

  const gguf_value* find(const std::string& key) const {
    auto it = metadata.find(key);
    return it == metadata.end() ? nullptr : &it->second;
  }
  // Typed reads of a scalar: nullopt when absent or of another kind (integers of either
  // signedness read as integers when the value fits).
  std::optional<int64_t> integer(const std::string& key) const;
  std::optional<double> number(const std::string& key) const;  // floats and integers
  std::optional<std::string> text(const std::string& key) const;
};

// True when `data` starts with GGUF's magic.
bool looks_like_gguf(const std::byte* data, size_t size);

// Parses an in-memory GGUF image; `path` names it in errors.
absl::StatusOr<gguf_file> parse_gguf(const std::byte* data, size_t size, const std::string& path);

}  // namespace alisa::model
