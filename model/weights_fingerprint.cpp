#include "model/weights_fingerprint.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace alisa::model {
namespace {

constexpr size_t kEdgeBytes = 4096;
constexpr size_t kWindows = 16;
constexpr size_t kWindowBytes = 256;

class fnv1a {
 public:
  void add(const void* data, size_t size) {
    const auto* bytes = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < size; ++i) hash_ = (hash_ ^ bytes[i]) * 0x100000001b3ull;
  }
  void add(const std::string& text) { add(text.data(), text.size() + 1); }  // with the NUL
  template <class T>
  void add_value(T value) { add(&value, sizeof value); }
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ull;
};

void add_samples(fnv1a& h, const tensor_view& t) {
  const auto* data = static_cast<const uint8_t*>(t.data);
  const size_t size = t.num_bytes();
  h.add(data, std::min(size, kEdgeBytes));
  if (size > kEdgeBytes) h.add(data + size - std::min(size - kEdgeBytes, kEdgeBytes), std::min(size - kEdgeBytes, kEdgeBytes));
  if (size <= 2 * kEdgeBytes + kWindows * kWindowBytes) return;
  const size_t stride = (size - kWindowBytes) / kWindows;
  for (size_t w = 0; w < kWindows; ++w) h.add(data + w * stride, kWindowBytes);
}

}  // namespace

std::string weights_fingerprint(const model_weights& weights) {
  fnv1a h;
  for_each_named_tensor(weights, [&](const std::string& name, const tensor_view& t) {
    if (!t.present()) return;
    h.add(name);
    h.add_value(static_cast<int>(t.type));
    for (int64_t d : t.shape) h.add_value(d);
    add_samples(h, t);
  });
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h.value()));
  return text;
}

}  // namespace alisa::model
