#pragma once
// kv_dtype — how KV rows are stored (compute is always fp32; the attention op converts on read).
// int8 is asymmetric per channel with statistics per chunk of tokens (docs/formats.md, "KV rows").
#include <cstddef>
#include <optional>
#include <string_view>

namespace alisa {

enum class kv_dtype { f32, f16, bf16, i8 };

// Bytes of one stored element (int8 statistics are extra, see kv_chunk_tokens).
constexpr size_t kv_dtype_size(kv_dtype t) {
  return t == kv_dtype::f32 ? 4 : t == kv_dtype::i8 ? 1 : 2;
}

constexpr std::string_view to_string(kv_dtype t) {
  switch (t) {
    case kv_dtype::f32: return "fp32";
    case kv_dtype::f16: return "fp16";
    case kv_dtype::bf16: return "bf16";
    case kv_dtype::i8: return "int8";
  }
  return "?";
}

// Accepts fp32|f32|float32, fp16|f16|float16, bf16|bfloat16, int8|i8.
inline std::optional<kv_dtype> parse_kv_dtype(std::string_view s) {
  if (s == "fp32" || s == "f32" || s == "float32") return kv_dtype::f32;
  if (s == "fp16" || s == "f16" || s == "float16") return kv_dtype::f16;
  if (s == "bf16" || s == "bfloat16") return kv_dtype::bf16;
  if (s == "int8" || s == "i8") return kv_dtype::i8;
  return std::nullopt;
}

// Tokens per int8 quantisation chunk: each chunk of this many consecutive positions has its own
// per-channel minimum and scale, so appending tokens never requantises earlier ones.
inline constexpr int kv_chunk_tokens = 64;

}  // namespace alisa
