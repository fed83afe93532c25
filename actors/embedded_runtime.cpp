#include "actors/embedded_runtime.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/coordinator.hpp"
#include "actors/gpu_worker.hpp"
#include "proto/caf_messages.hpp"

namespace alisa::actors {

struct embedded_runtime::impl {
  caf::actor_system_config config;
  std::unique_ptr<caf::actor_system> system;
  caf::actor worker;
  caf::actor coordinator;
};

embedded_runtime::embedded_runtime(std::unique_ptr<local_engine> engine,
                                   const scheduler::batching_options& batching)
    : engine_(std::move(engine)), impl_(std::make_unique<impl>()) {
  register_message_types(impl_->config);
  impl_->system = std::make_unique<caf::actor_system>(impl_->config);
  coordinator_options o;
  o.batching = batching;
  o.context_length = engine_->config().max_position_embeddings;
  o.vocab_size = engine_->config().vocab_size;
  // The worker blocks its thread for a whole forward step: detached, so it never starves the
  // coordinator and the clients of scheduler threads.
  impl_->worker = impl_->system->spawn<caf::detached>(actors::gpu_worker, engine_.get());
  impl_->coordinator = impl_->system->spawn(actors::coordinator, impl_->worker, o);
}

embedded_runtime::~embedded_runtime() {
  {
    caf::scoped_actor self{*impl_->system};  // must be gone before the system joins
    self->send_exit(impl_->coordinator, caf::exit_reason::user_shutdown);
    self->send_exit(impl_->worker, caf::exit_reason::user_shutdown);
    self->wait_for(impl_->coordinator, impl_->worker);
  }
  impl_->coordinator = nullptr;
  impl_->worker = nullptr;
  impl_->system.reset();  // joins the scheduler threads
}

caf::actor_system& embedded_runtime::system() { return *impl_->system; }
const caf::actor& embedded_runtime::coordinator() const { return impl_->coordinator; }

job_outcome embedded_runtime::submit(const submit_job& job,
                                     const std::function<void(std::string_view)>& on_text) {
  caf::scoped_actor self{*impl_->system};
  self->send(impl_->coordinator, job);
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
      });
  return out;
}

}  // namespace alisa::actors
