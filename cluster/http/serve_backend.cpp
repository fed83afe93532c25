#include "cluster/http/serve_backend.hpp"

#include <caf/scoped_actor.hpp>

#include <chrono>

#include "actors/runtime_atoms.hpp"
#include "proto/caf_messages.hpp"

namespace alisa::cluster {

serve_backend::serve_backend(caf::actor_system& system, caf::actor coordinator,
                             std::shared_ptr<const model::tokenizer> tokenizer, int context_length)
    : system_(system),
      coordinator_(std::move(coordinator)),
      tokenizer_(std::move(tokenizer)),
      context_length_(context_length) {}

actors::job_outcome serve_backend::run(const submit_job& job, const actors::job_watch& watch) {
  return actors::submit_and_watch(system_, coordinator_, job, watch);
}

std::optional<runtime_metrics> serve_backend::metrics() {
  caf::scoped_actor self{system_};
  std::optional<runtime_metrics> out;
  self->request(coordinator_, std::chrono::seconds(2), actors::metrics_atom::value)
      .receive([&](runtime_metrics& m) { out = std::move(m); }, [&](caf::error&) {});
  return out;
}

}  // namespace alisa::cluster
