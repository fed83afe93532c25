#pragma once
// model_identity — what the nodes of one cluster must agree on to serve one model, as text that
// crosses the wire in node_hello: the architecture and every shape, the tokenizer (kind, ids of
// BOS/EOS, a hash of every token's bytes), a fingerprint of the weights, the weight and KV dtypes.
// A worker started with another model (or the same one stored differently) is refused at join
// with a message naming the fields that differ, instead of giving jobs garbage.
//
// Encoding: one "name=value" per line, in a fixed order; identity_difference() compares two.
#include <optional>
#include <string>
#include <string_view>

#include "engine/local_engine.hpp"
#include "engine/model_card.hpp"

namespace alisa::engine {

// `weights_fingerprint` is model_card's (model/weights_fingerprint.hpp; the preset name for
// synthetic weights).
std::string model_identity(const model_card& card, const engine_options& options);

// nullopt when equal; else "hidden_size is 288 here but 64 on the coordinator; …" for every
// differing field (`here`/`there` name the two sides).
std::optional<std::string> identity_difference(std::string_view ours, std::string_view theirs,
                                               std::string_view here, std::string_view there);

}  // namespace alisa::engine
