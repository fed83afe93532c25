#pragma once
// tensor_view — a read-only, row-major view of weights that something else owns (an mmapped file
// or a buffer held by model_weights). Non-owning on purpose: weights are large and shared.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "proto/dtype.hpp"

namespace alisa::model {

struct tensor_view {
  dtype type = dtype::f32;
  std::vector<int64_t> shape;  // e.g. {out_features, in_features} for a linear weight
  const void* data = nullptr;  // nullptr = tensor absent (e.g. no bias)

  bool present() const { return data != nullptr; }
  int64_t num_elements() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
  // Bytes as stored (q8_0: whole blocks per row; see proto/dtype.hpp).
  size_t num_bytes() const {
    const int64_t c = shape.size() < 2 ? num_elements() : shape.back();  // a vector is one row
    return c == 0 ? 0 : static_cast<size_t>(num_elements() / c) * dtype_row_bytes(type, c);
  }
  int64_t rows() const { return shape.empty() ? 0 : shape.front(); }
  int64_t cols() const { return shape.size() < 2 ? 1 : shape.back(); }
};

std::string describe(const tensor_view& t);  // "bf16[4096,4096]"

// Element conversions shared by loaders, references and tests (round-to-nearest-even for bf16).
float bf16_to_float(uint16_t v);
uint16_t float_to_bf16(float f);
float f16_to_float(uint16_t v);
uint16_t float_to_f16(float f);
// Reads element i of any dtype as float.
float element_as_float(const tensor_view& t, int64_t i);

}  // namespace alisa::model
