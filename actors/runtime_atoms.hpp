#pragma once
// runtime_atoms — the atoms the runtime's actors exchange besides proto/messages.hpp structs.
#include <caf/atom.hpp>

namespace alisa::actors {

using step_atom = caf::atom_constant<caf::atom("step")>;

}  // namespace alisa::actors
