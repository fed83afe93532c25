#pragma once
// weight_check — refuses weights holding NaN or ±inf, by tensor name and element. A non-finite
// weight does not crash anything: it turns every logit into NaN, and sampling then yields garbage
// or an empty text with exit 0. Checking costs one pass over the weights (~0.3 s per GB), so
// load_model runs it by default for files under kCheckWeightsBelowBytes (load_options).
#include <cstdint>

#include "absl/status/status.h"
#include "model/model_weights.hpp"

namespace alisa::model {

inline constexpr uint64_t kCheckWeightsBelowBytes = uint64_t{2} << 30;

// OK, or InvalidArgument "<source>: tensor layers.3.wq holds a non-finite value (nan at element
// 17 of 4096)"; each distinct tensor is scanned once.
absl::Status check_finite_weights(const model_weights& w);

}  // namespace alisa::model
