#include "actors/client.hpp"

#include <caf/after.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "proto/caf_messages.hpp"

namespace alisa::actors {

job_outcome submit_and_wait(caf::actor_system& system, const caf::actor& coordinator,
                            const submit_job& job,
                            const std::function<void(std::string_view)>& on_text) {
  job_watch watch;
  watch.on_chunk = [&](const token_chunk& c) {
    if (on_text && !c.text.empty()) on_text(c.text);
    return true;
  };
  return submit_and_watch(system, coordinator, job, watch);
}

job_outcome submit_and_watch(caf::actor_system& system, const caf::actor& coordinator,
                             const submit_job& job, const job_watch& watch) {
  caf::scoped_actor self{system};
  self->monitor(coordinator);
  self->send(coordinator, job);
  job_outcome out;
  bool done = false;
  request_id id{};  // the coordinator's id for the job, from job_accepted
  auto abandon = [&] {
    if (id.value != 0) self->send(coordinator, cancel_job{id});
    out.error = "cancelled";
    done = true;
  };
  self->receive_while([&] { return !done; })(
      [&](job_accepted& a) {
        out.accepted = true;
        id = a.id;
        if (watch.on_accepted) watch.on_accepted(a);
      },
      [&](job_rejected& r) {
        out.error = r.reason;
        out.rejected = true;
        out.retry_later = r.retry_later;
        done = true;
      },
      [&](token_chunk& c) {
        out.token_ids.insert(out.token_ids.end(), c.token_ids.begin(), c.token_ids.end());
        out.text += c.text;
        out.logprobs.insert(out.logprobs.end(), c.logprobs.begin(), c.logprobs.end());
        if (watch.on_chunk && !watch.on_chunk(c)) abandon();
      },
      [&](job_finished& f) {
        out.finished = std::move(f);
        done = true;
      },
      [&](job_failed& f) {
        out.error = f.reason;
        done = true;
      },
      [&](caf::down_msg& d) {
        out.error = "the coordinator went away: " + to_string(d.reason);
        done = true;
      },
      caf::after(watch.poll_interval) >> [&] {
        if (watch.still_wanted && !watch.still_wanted()) abandon();
      });
  return out;
}

}  // namespace alisa::actors
