#include "actors/gpu_worker.hpp"

#include <caf/event_based_actor.hpp>

#include "proto/caf_messages.hpp"

namespace alisa::actors {

caf::behavior gpu_worker(caf::stateful_actor<gpu_worker_state>* self, local_engine* engine) {
  self->state.batch = std::make_unique<batch_engine>(*engine);
  self->set_default_handler(caf::drop);  // never print a stray KV payload to stderr
  return {
      [self](step_plan& plan) -> step_report {
        auto& batch = *self->state.batch;
        for (const auto& id : plan.cancelled) batch.cancel(id);
        std::vector<job_failed> refused;
        for (const auto& job : plan.joiners)
          if (auto reason = batch.add(job)) refused.push_back({job.id, *reason});
        step_report report = batch.step();
        report.failed.insert(report.failed.end(), refused.begin(), refused.end());
        return report;
      },
  };
}

}  // namespace alisa::actors
