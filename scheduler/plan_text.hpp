#pragma once
// plan_text — the pieces of a batch_plan's one-line reason that every policy shares.
#include <span>
#include <string>

#include "scheduler/sequence_plan.hpp"

namespace alisa::scheduler {

// "phases I/II/III = 2/1/0": how many plans end in each phase.
std::string phases_phrase(std::span<const sequence_plan> plans);

// Appends `note` to a comma-separated list.
void add_note(std::string& notes, const std::string& note);

}  // namespace alisa::scheduler
