#include "actors/embedded_runtime.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <stdexcept>

#include "actors/coordinator.hpp"
#include "actors/gpu_worker.hpp"
#include "actors/memory_tier.hpp"
#include "proto/caf_messages.hpp"

namespace alisa::actors {

struct embedded_runtime::impl {
  caf::actor_system_config config;
  std::unique_ptr<caf::actor_system> system;
  caf::actor worker;
  caf::actor coordinator;
  caf::actor memory;  // the memory tier, when the engine has a host tier
};

embedded_runtime::embedded_runtime(std::unique_ptr<engine::local_engine> engine,
                                   const scheduler::batching_options& batching)
    : engine_(std::move(engine)), impl_(std::make_unique<impl>()) {
  batching.validate();  // throws before any actor exists (inside the coordinator it would kill it)
  register_message_types(impl_->config);
  // Work sharing: an idle scheduler thread wakes at once when the worker replies (work stealing's
  // idle threads poll every 10 ms).
  impl_->config.set("scheduler.policy", caf::atom("sharing"));
  impl_->system = std::make_unique<caf::actor_system>(impl_->config);
  coordinator_options o;
  o.batching = batching;
  o.step_timeout = std::chrono::milliseconds(0);  // in process: a long step is not a hung worker
  o.context_length = engine_->config().max_position_embeddings;
  o.vocab_size = engine_->config().vocab_size;
  // Non-owning: the engine outlives the coordinator (the destructor stops the actors first).
  o.tokenizer = std::shared_ptr<const model::tokenizer>(std::shared_ptr<void>(), &engine_->tokenizer());
  o.bos_token_id = engine_->config().bos_token_id;
  // The worker blocks its thread for a whole forward step: detached, so it never starves the
  // coordinator and the clients of scheduler threads.
  impl_->worker = impl_->system->spawn<caf::detached>(actors::gpu_worker, engine_.get(),
                                                               actors::memory_dialer{});
  impl_->coordinator = impl_->system->spawn(actors::coordinator,
                                                    std::vector<caf::actor>{impl_->worker}, o);
  start_memory_tier();
}

// With a tiered engine that has a host budget, that budget becomes a memory_tier actor which
// joins like a cluster's memory node; the worker then swaps its local RAM store for it. NVMe stays
// the worker's own (the tier report keeps RAM and NVMe apart; the cost model prices them apart).
void embedded_runtime::start_memory_tier() {
  const engine::tiered_kv_store* tiers = static_cast<const engine::local_engine&>(*engine_).tier_store();
  if (!tiers || tiers->options().host_budget == 0) return;
  memory_tier_options m;
  m.host_budget = tiers->options().host_budget;
  auto memory = spawn_memory_tier(*impl_->system, m);
  if (!memory.ok()) throw std::runtime_error(std::string(memory.status().message()));
  impl_->memory = *memory;
  // Joins before any job can: the coordinator handles the hello, and tells the worker, before it
  // sees a submit sent after this constructor returns.
  caf::send_as(impl_->memory, impl_->coordinator, node_hello{node_id{0}, "memory", "in-process"});
}

embedded_runtime::~embedded_runtime() {
  {
    caf::scoped_actor self{*impl_->system};  // must be gone before the system joins
    self->send_exit(impl_->coordinator, caf::exit_reason::user_shutdown);
    self->send_exit(impl_->worker, caf::exit_reason::user_shutdown);
    self->wait_for(impl_->coordinator, impl_->worker);
    if (impl_->memory) {
      // The engine's host tier holds a scoped actor of this system: drop it first.
      if (auto* tiers = engine_->tier_store()) tiers->use_host_store(nullptr);
      self->send_exit(impl_->memory, caf::exit_reason::user_shutdown);
      self->wait_for(impl_->memory);
    }
  }
  impl_->memory = nullptr;
  impl_->coordinator = nullptr;
  impl_->worker = nullptr;
  impl_->system.reset();  // joins the scheduler threads
}

caf::actor_system& embedded_runtime::system() { return *impl_->system; }
const caf::actor& embedded_runtime::coordinator() const { return impl_->coordinator; }

job_outcome embedded_runtime::submit(const submit_job& job,
                                     const std::function<void(std::string_view)>& on_text) {
  return submit_and_wait(*impl_->system, impl_->coordinator, job, on_text);
}

}  // namespace alisa::actors
