#pragma once
// dtype — element types of weights and activations as they are stored (compute is fp32).
//
// q8_0 is GGUF's 8-bit block format: every run of kQ8Block consecutive elements of a row is one
// block {fp16 scale d, int8 q[32]} and element = d · q (34 bytes per 32 elements). A row-major
// q8_0 tensor's rows are whole blocks (GGUF requires cols % 32 == 0); a backend's packed q8_0
// matrix pads each row to whole blocks with zeros. dtype_size() is the size of one element of the
// plain types; use dtype_row_bytes() for anything that may be q8_0.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace alisa {

enum class dtype { f32, f16, bf16, q8_0 };

inline constexpr int64_t kQ8Block = 32;         // elements per q8_0 block
inline constexpr size_t kQ8BlockBytes = 2 + 32;  // fp16 scale + 32 int8 codes

constexpr bool is_block_quantised(dtype t) { return t == dtype::q8_0; }

// Bytes of one element (q8_0: the int8 code only; its share of the block scales is extra).
constexpr size_t dtype_size(dtype t) { return t == dtype::f32 ? 4 : t == dtype::q8_0 ? 1 : 2; }

// Bytes of one row of `cols` elements (q8_0: rounded up to whole blocks).
constexpr size_t dtype_row_bytes(dtype t, int64_t cols) {
  if (t == dtype::q8_0) return static_cast<size_t>((cols + kQ8Block - 1) / kQ8Block) * kQ8BlockBytes;
  return static_cast<size_t>(cols) * dtype_size(t);
}

constexpr std::string_view to_string(dtype t) {
  switch (t) {
    case dtype::f32: return "fp32";
    case dtype::f16: return "fp16";
    case dtype::bf16: return "bf16";
    case dtype::q8_0: return "q8_0";
  }
  return "?";
}

// Accepts the command-line spellings fp32|f32|float32, fp16|f16|float16, bf16|bfloat16, q8_0|Q8_0.
inline std::optional<dtype> parse_dtype(std::string_view s) {
  if (s == "fp32" || s == "f32" || s == "float32") return dtype::f32;
  if (s == "fp16" || s == "f16" || s == "float16") return dtype::f16;
  if (s == "bf16" || s == "bfloat16") return dtype::bf16;
  if (s == "q8_0" || s == "Q8_0") return dtype::q8_0;
  return std::nullopt;
}

}  // namespace alisa
