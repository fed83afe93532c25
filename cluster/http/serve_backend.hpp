#pragma once
// serve_backend — what the HTTP front end needs from the actor runtime, whether it is embedded
// in this process (alisa serve) or a cluster reached over the network (serve --coordinator):
// run a job while watching it, and read the runtime's figures for /metrics.
#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <memory>
#include <optional>
#include <string>

#include "actors/client.hpp"
#include "model/tokenizer.hpp"
#include "proto/messages.hpp"

namespace alisa::cluster {

class serve_backend {
 public:
  serve_backend(caf::actor_system& system, caf::actor coordinator,
                std::shared_ptr<const model::tokenizer> tokenizer, int context_length);

  // Blocks until the job ends or the watch abandons it. Thread-safe.
  actors::job_outcome run(const submit_job& job, const actors::job_watch& watch);
  // The coordinator's figures (membership, queue, the workers' KV tiers); nullopt when it did
  // not answer within two seconds.
  std::optional<runtime_metrics> metrics();

  // The model's tokenizer when this process has it (prompts are then encoded here, so usage and
  // context checks are exact before anything is queued); null when the coordinator encodes.
  const model::tokenizer* tokenizer() const { return tokenizer_.get(); }
  int context_length() const { return context_length_; }

 private:
  caf::actor_system& system_;
  caf::actor coordinator_;
  std::shared_ptr<const model::tokenizer> tokenizer_;
  int context_length_;
};

}  // namespace alisa::cluster
