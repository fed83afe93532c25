#pragma once
// safetensors — parser for Hugging Face's safetensors format, written for untrusted files:
//   u64 little-endian header length N | N bytes of JSON header | raw little-endian tensor data.
// The header maps names to {dtype, shape, data_offsets:[begin,end)} relative to the data section.
// Every claim in the header is checked before a view is handed out: the header fits in the file,
// offsets lie inside the data section, end-begin == numel * dtype size, tensors do not overlap,
// shapes are non-negative, names are unique, dtype is F32/F16/BF16 (others rejected by name).
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/tensor.hpp"

namespace alisa::model {

// Named tensors gathered from one file or several shards.
struct tensor_table {
  std::map<std::string, tensor_view> tensors;
  std::map<std::string, std::string> origin;  // tensor name -> file it came from (for messages)
  std::vector<std::shared_ptr<const void>> storage;  // mappings and realignment copies the views use

  const tensor_view* find(const std::string& name) const {
    auto it = tensors.find(name);
    return it == tensors.end() ? nullptr : &it->second;
  }
};

// Parses an in-memory safetensors image. The views point into `data`, which the caller keeps alive
// (tensors whose offset is not aligned to their element size are copied into owned, aligned
// buffers held in `storage`). `path` names the file in error messages only.
absl::StatusOr<tensor_table> parse_safetensors(const std::byte* data, size_t size, const std::string& path);

// Maps `path` read-only and parses it; the mapping is held in the result's storage.
absl::StatusOr<tensor_table> open_safetensors(const std::string& path);

// A model directory: DIR/model.safetensors, or DIR/model.safetensors.index.json whose weight_map
// names the shard file of every tensor. Every listed tensor must exist in its shard and no name may
// appear in two shards.
absl::StatusOr<tensor_table> open_safetensors_dir(const std::string& dir);

}  // namespace alisa::model
