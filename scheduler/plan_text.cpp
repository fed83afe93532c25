// plan_text — shared reason phrases (plan_text.hpp).
#include "scheduler/plan_text.hpp"

#include <array>

namespace alisa::scheduler {

std::string phases_phrase(std::span<const sequence_plan> plans) {
  std::array<int, 4> count{};  // indexed by kv_phase's value, 1..3
  for (const auto& p : plans) ++count[static_cast<size_t>(p.phase)];
  return "phases I/II/III = " + std::to_string(count[1]) + "/" + std::to_string(count[2]) + "/" +
         std::to_string(count[3]);
}

void add_note(std::string& notes, const std::string& note) {
  if (!notes.empty()) notes += ", ";
  notes += note;
}

}  // namespace alisa::scheduler
