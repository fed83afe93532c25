#pragma once
// dtype — element types of weights and activations as they are stored (compute is fp32).
#include <cstddef>
#include <optional>
#include <string_view>

namespace alisa {

enum class dtype { f32, f16, bf16 };

constexpr size_t dtype_size(dtype t) { return t == dtype::f32 ? 4 : 2; }

constexpr std::string_view to_string(dtype t) {
  switch (t) {
    case dtype::f32: return "fp32";
    case dtype::f16: return "fp16";
    case dtype::bf16: return "bf16";
  }
  return "?";
}

// Accepts the command-line spellings fp32|f32|float32, fp16|f16|float16, bf16|bfloat16.
inline std::optional<dtype> parse_dtype(std::string_view s) {
  if (s == "fp32" || s == "f32" || s == "float32") return dtype::f32;
  if (s == "fp16" || s == "f16" || s == "float16") return dtype::f16;
  if (s == "bf16" || s == "bfloat16") return dtype::bf16;
  return std::nullopt;
}

}  // namespace alisa
