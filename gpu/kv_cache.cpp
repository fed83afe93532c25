#include "gpu/kv_cache.hpp"

#include <stdexcept>
#include <string>

namespace alisa::gpu {
namespace {

constexpr size_t kAlignment = 64;  // every sub-buffer starts on a cache line

size_t align_up(size_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

}  // namespace

kv_rows_layout kv_layout_for(kv_dtype type, int kv_dim, int capacity) {
  kv_rows_layout l;
  const size_t dim = static_cast<size_t>(kv_dim);
  l.data = align_up(static_cast<size_t>(capacity) * dim * kv_dtype_size(type));
  if (type == kv_dtype::i8) {
    const size_t chunks = (static_cast<size_t>(capacity) + kv_chunk_tokens - 1) / kv_chunk_tokens;
    l.stats = align_up(chunks * dim * sizeof(float));
    l.staging = align_up(static_cast<size_t>(kv_chunk_tokens) * dim * sizeof(float));
  }
  return l;
}

kv_rows carve_kv_rows(void* base, const kv_rows_layout& l, kv_dtype type, int kv_dim) {
  auto* cursor = static_cast<char*>(base);
  auto carve = [&](size_t bytes) {
    char* p = bytes ? cursor : nullptr;
    cursor += bytes;
    return p;
  };
  kv_rows r;
  r.type = type;
  r.kv_dim = kv_dim;
  r.data = carve(l.data);
  r.minimum = reinterpret_cast<float*>(carve(l.stats));
  r.scale = reinterpret_cast<float*>(carve(l.stats));
  r.staging = reinterpret_cast<float*>(carve(l.staging));
  return r;
}

dense_kv_cache::dense_kv_cache(backend& be, int num_layers, int kv_dim, int capacity,
                               kv_dtype type)
    : backend_(be), num_layers_(num_layers), kv_dim_(kv_dim), capacity_(capacity), type_(type) {
  if (num_layers < 0 || kv_dim <= 0 || capacity < 0)
    throw std::invalid_argument("dense_kv_cache: bad shape (layers " + std::to_string(num_layers) +
                                ", kv_dim " + std::to_string(kv_dim) + ", capacity " +
                                std::to_string(capacity) + ")");
  const kv_rows_layout l = kv_layout_for(type, kv_dim, capacity);
  bytes_ = 2 * static_cast<size_t>(num_layers) * l.total();
  base_ = backend_.allocate(bytes_);
  // Layer by layer: keys then values, each data | minimum | scale | staging.
  auto* cursor = static_cast<char*>(base_);
  keys_.reserve(static_cast<size_t>(num_layers));
  values_.reserve(static_cast<size_t>(num_layers));
  for (int layer = 0; layer < num_layers; ++layer) {
    keys_.push_back(carve_kv_rows(cursor, l, type, kv_dim));
    values_.push_back(carve_kv_rows(cursor + l.total(), l, type, kv_dim));
    cursor += 2 * l.total();
  }
}

dense_kv_cache::~dense_kv_cache() { backend_.release(base_); }

size_t dense_kv_cache::num_bytes() const { return bytes_; }

void check_append_target(const kv_rows& dst, int length) {
  if (dst.kv_dim <= 0 || !dst.data || length < 0 ||
      (dst.type == kv_dtype::i8 && (!dst.minimum || !dst.scale || !dst.staging)))
    throw std::invalid_argument("append_kv: malformed kv_rows (kv_dim " + std::to_string(dst.kv_dim) +
                                ", length " + std::to_string(length) + ")");
}

void check_gather_source(const kv_rows& src) {
  if (src.kv_dim <= 0 || !src.data || (src.type == kv_dtype::i8 && (!src.minimum || !src.scale)))
    throw std::invalid_argument("gather_kv: malformed kv_rows (kv_dim " +
                                std::to_string(src.kv_dim) + ")");
}

}  // namespace alisa::gpu
