#include "actors/client.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "proto/caf_messages.hpp"

namespace alisa::actors {

job_outcome submit_and_wait(caf::actor_system& system, const caf::actor& coordinator,
                            const submit_job& job,
                            const std::function<void(std::string_view)>& on_text) {
  caf::scoped_actor self{system};
  self->monitor(coordinator);
  self->send(coordinator, job);
  job_outcome out;
  bool done = false;
  self->receive_while([&] { return !done; })(
      [&](job_accepted&) { out.accepted = true; },
      [&](job_rejected& r) {
        out.error = r.reason;
        done = true;
      },
      [&](token_chunk& c) {
        out.token_ids.insert(out.token_ids.end(), c.token_ids.begin(), c.token_ids.end());
        out.text += c.text;
        if (on_text && !c.text.empty()) on_text(c.text);
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
      });
  return out;
}

}  // namespace alisa::actors
