#include "actors/coordinator.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/actor_cast.hpp>

#include "absl/strings/str_cat.h"
#include "proto/caf_messages.hpp"

namespace alisa::actors {
namespace {

using self_ptr = caf::stateful_actor<coordinator_state>*;

// Why a job cannot be admitted, or nullopt.
std::optional<std::string> check_job(const submit_job& job, const coordinator_options& o) {
  if (job.prompt_ids.empty()) return std::string("empty prompt");
  if (static_cast<int>(job.prompt_ids.size()) >= o.context_length)
    return absl::StrCat("prompt is ", job.prompt_ids.size(), " tokens but the model's context is ",
                        o.context_length, " (at most ", o.context_length - 1, " prompt tokens)");
  for (int32_t t : job.prompt_ids)
    if (t < 0 || t >= o.vocab_size) return absl::StrCat("token id ", t, " is outside the vocabulary");
  return validate(job.sampling);
}

void deliver(self_ptr self, uint64_t id, const caf::message& msg) {
  auto it = self->state.clients.find(id);
  if (it != self->state.clients.end()) self->send(it->second, msg);
}

void forget(self_ptr self, uint64_t id) {
  self->state.queue->finished(id);
  self->state.clients.erase(id);
}

void maybe_step(self_ptr self);

void on_report(self_ptr self, step_report& report) {
  auto& st = self->state;
  st.stepping = false;
  for (auto& c : report.chunks) deliver(self, c.id.value, caf::make_message(std::move(c)));
  for (auto& f : report.finished) {
    const uint64_t id = f.id.value;
    deliver(self, id, caf::make_message(std::move(f)));
    forget(self, id);
  }
  for (auto& f : report.failed) {
    const uint64_t id = f.id.value;
    deliver(self, id, caf::make_message(std::move(f)));
    forget(self, id);
  }
  maybe_step(self);
}

// Sends the next step plan when nothing is in flight and anything runs or waits.
void maybe_step(self_ptr self) {
  auto& st = self->state;
  if (st.stepping || (st.queue->num_running() == 0 && st.queue->num_queued() == 0)) return;
  step_plan plan;
  for (uint64_t id : st.queue->next_joiners()) {
    plan.joiners.push_back(std::move(st.waiting[id]));
    st.waiting.erase(id);
  }
  plan.cancelled.swap(st.cancelled);
  if (plan.joiners.empty() && st.queue->num_running() == 0) return;
  st.stepping = true;
  self->request(st.worker, caf::infinite, std::move(plan))
      .then([self](step_report& report) { on_report(self, report); },
            [self](caf::error& err) {
              // The worker is gone: every running job fails; waiting ones stay queued.
              self->state.stepping = false;
              for (auto it = self->state.clients.begin(); it != self->state.clients.end();) {
                const uint64_t id = it->first;
                ++it;
                if (!self->state.queue->is_running(id)) continue;
                deliver(self, id, caf::make_message(job_failed{
                                      request_id{id}, "worker failed: " + to_string(err)}));
                forget(self, id);
              }
            });
}

void cancel(self_ptr self, uint64_t id) {
  auto& st = self->state;
  const bool running = st.queue->is_running(id);
  if (!st.queue->cancel(id)) return;
  if (running) st.cancelled.push_back(request_id{id});
  st.waiting.erase(id);
  st.clients.erase(id);
}

}  // namespace

caf::behavior coordinator(caf::stateful_actor<coordinator_state>* self, caf::actor worker,
                          coordinator_options options) {
  self->state.queue = std::make_unique<scheduler::job_queue>(options.batching);
  self->state.worker = worker;
  self->set_default_handler(caf::drop);
  // A client that goes away cancels its jobs (their KV is freed at the next step).
  self->set_down_handler([self](caf::down_msg& down) {
    std::vector<uint64_t> gone;
    for (const auto& [id, client] : self->state.clients)
      if (client.address() == down.source) gone.push_back(id);
    for (uint64_t id : gone) cancel(self, id);
  });
  return {
      [self, options](submit_job& job) {
        auto client = caf::actor_cast<caf::actor>(self->current_sender());
        const request_id id{self->state.next_id++};
        job.id = id;
        if (auto bad = check_job(job, options)) {
          self->send(client, job_rejected{job.id, *bad});
          return;
        }
        if (self->state.queue->admit(job.id.value, static_cast<int>(job.prompt_ids.size())) ==
            scheduler::admission::queue_full) {
          self->send(client, job_rejected{job.id, absl::StrCat("queue full (",
                                                               options.batching.max_queued,
                                                               " jobs waiting); retry later")});
          return;
        }
        self->monitor(client);
        self->state.clients[id.value] = client;
        const int position = self->state.queue->queue_position(id.value);
        self->state.waiting[id.value] = std::move(job);
        self->send(client, job_accepted{id, position});
        maybe_step(self);
      },
      [self](cancel_job& c) {
        cancel(self, c.id.value);
        maybe_step(self);
      },
  };
}

}  // namespace alisa::actors
