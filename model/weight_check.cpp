#include "model/weight_check.hpp"

#include <cmath>
#include <cstring>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"

namespace alisa::model {
namespace {

// Index of the first non-finite element, or -1. 16-bit floats: an all-ones exponent.
int64_t first_non_finite(const tensor_view& t, std::string& what) {
  const int64_t n = t.num_elements();
  if (t.type == dtype::f32) {
    const auto* x = static_cast<const float*>(t.data);
    for (int64_t i = 0; i < n; ++i)
      if (!std::isfinite(x[i])) {
        what = std::isnan(x[i]) ? "nan" : x[i] > 0 ? "inf" : "-inf";
        return i;
      }
    return -1;
  }
  if (t.type == dtype::q8_0) {  // the codes are integers: only the fp16 block scales can be bad
    const auto* bytes = static_cast<const unsigned char*>(t.data);
    for (int64_t b = 0; b < n / kQ8Block; ++b) {
      uint16_t d;
      std::memcpy(&d, bytes + static_cast<size_t>(b) * kQ8BlockBytes, sizeof d);
      if ((d & 0x7c00) == 0x7c00) {
        what = (d & 0x03ff) != 0 ? "nan scale" : "inf scale";
        return b * kQ8Block;
      }
    }
    return -1;
  }
  const uint16_t exponent = t.type == dtype::f16 ? 0x7c00 : 0x7f80;
  const uint16_t mantissa = t.type == dtype::f16 ? 0x03ff : 0x007f;
  const auto* bits = static_cast<const uint16_t*>(t.data);
  for (int64_t i = 0; i < n; ++i)
    if ((bits[i] & exponent) == exponent) {
      what = (bits[i] & mantissa) != 0 ? "nan" : (bits[i] & 0x8000) ? "-inf" : "inf";
      return i;
    }
  return -1;
}

}  // namespace

absl::Status check_finite_weights(const model_weights& w) {
  std::set<const void*> seen;
  absl::Status status;
  for_each_named_tensor(w, [&](const std::string& name, const tensor_view& t) {
    if (!status.ok() || !t.present() || !seen.insert(t.data).second) return;
    std::string what;
    const int64_t at = first_non_finite(t, what);
    if (at >= 0)
      status = absl::InvalidArgumentError(absl::StrCat(
          w.source, ": tensor ", name, " holds a non-finite value (", what, " at element ", at,
          " of ", t.num_elements(), "); the model's outputs would be garbage"));
  });
  return status;
}

}  // namespace alisa::model
