#include "engine/generation.hpp"

namespace alisa::engine {

std::string_view to_string(finish_reason r) {
  switch (r) {
    case finish_reason::eos: return "eos";
    case finish_reason::length: return "length";
    case finish_reason::stop_string: return "stop";
    case finish_reason::context_full: return "context_full";
  }
  return "?";
}

}  // namespace alisa::engine
