#pragma once
// runtime_atoms — the atoms the runtime's actors exchange besides proto/messages.hpp structs.
#include <caf/atom.hpp>

namespace alisa::actors {

using step_atom = caf::atom_constant<caf::atom("step")>;
// coordinator -> worker: (memory_nodes_atom, std::vector<caf::actor>) the memory tiers alive.
using memory_nodes_atom = caf::atom_constant<caf::atom("memnodes")>;
// anyone -> coordinator: (status_atom) -> (uint32 workers alive, uint32 memory nodes, uint32 queued,
//   uint32 running, uint64 restarts, uint64 bytes held on all memory nodes)
using status_atom = caf::atom_constant<caf::atom("status")>;

}  // namespace alisa::actors
