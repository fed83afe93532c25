#pragma once
// piece_map — vocabulary lookups by piece text that accept string_views without a copy.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace alisa::model {

struct piece_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// piece text -> token id
using piece_map = std::unordered_map<std::string, int, piece_hash, std::equal_to<>>;

}  // namespace alisa::model
