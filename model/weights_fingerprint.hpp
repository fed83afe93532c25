#pragma once
// weights_fingerprint — a short hash that tells two copies of a model's weights apart without
// reading all of them: every tensor's name, dtype and shape, plus sampled bytes of its data (the
// first and last 4 KiB and 16 evenly spaced 256-byte windows). Two nodes that load different
// checkpoints of one architecture (a fine-tune, another seed) differ here; the same files give
// the same fingerprint on every machine. Not a security measure: a deliberate collision is easy.
#include <string>

#include "model/model_weights.hpp"

namespace alisa::model {

// 16 hex digits (FNV-1a, 64 bits).
std::string weights_fingerprint(const model_weights& weights);

}  // namespace alisa::model
