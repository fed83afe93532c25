#include "actors/coordinator.hpp"

#include <algorithm>
#include <functional>
#include <iostream>
#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>


#include "absl/strings/str_cat.h"
#include "actors/peer_link_bench.hpp"
#include "actors/runtime_atoms.hpp"
#include "proto/caf_messages.hpp"

namespace alisa::actors {
namespace {

using self_ptr = caf::stateful_actor<coordinator_state>*;

// Why a job cannot be admitted, or nullopt.
std::optional<std::string> check_job(const submit_job& job, const coordinator_options& o) {
  if (job.prompt_ids.empty()) return std::string("empty prompt");
  if (o.context_length > 0 && static_cast<int>(job.prompt_ids.size()) >= o.context_length)
    return absl::StrCat("prompt is ", job.prompt_ids.size(), " tokens but the model's context is ",
                        o.context_length, " (at most ", o.context_length - 1, " prompt tokens)");
  for (int32_t t : job.prompt_ids)
    if (t < 0 || (o.vocab_size > 0 && t >= o.vocab_size))
      return absl::StrCat("token id ", t, " is outside the vocabulary");
  return validate(job.sampling);
}

// Fills prompt_ids from prompt_text (with BOS; an empty text is BOS alone) when the client sent
// no token ids.
void encode_text(submit_job& job, const coordinator_options& o) {
  if (!job.prompt_ids.empty() || !o.tokenizer) return;
  const auto ids = o.tokenizer->encode(job.prompt_text, /*add_bos=*/true);
  job.prompt_ids.assign(ids.begin(), ids.end());
  if (job.prompt_ids.empty() && o.bos_token_id >= 0) job.prompt_ids.push_back(o.bos_token_id);
}

void deliver(self_ptr self, uint64_t id, caf::message msg) {
  auto it = self->state.jobs.find(id);
  if (it != self->state.jobs.end() && it->second.client) self->send(it->second.client, std::move(msg));
}

// Jobs may run per_worker_running per worker alive (at least one, so admission keeps working
// while no worker is there: joiners wait in the queue until one joins).
void update_capacity(coordinator_state& st) {
  st.queue->set_max_running(st.per_worker_running * std::max(1, st.ledger->num_alive()));
}

void end_job(self_ptr self, uint64_t id) {
  auto& st = self->state;
  auto it = st.jobs.find(id);
  if (it == st.jobs.end()) return;
  st.ledger->remove(id);
  st.queue->finished(id);
  st.jobs.erase(it);
}

// Back to the head of the queue, to prefill again on whichever worker is free; or failed for
// good after max_restarts.
void restart_job(self_ptr self, uint64_t id, const std::string& reason, int max_restarts) {
  auto& st = self->state;
  auto it = st.jobs.find(id);
  if (it == st.jobs.end()) return;
  if (!st.ledger->restart(id)) {
    deliver(self, id, caf::make_message(job_failed{
                          request_id{id}, absl::StrCat(reason, " (gave up after ", max_restarts,
                                                       " restarts)")}));
    end_job(self, id);
    return;
  }
  st.queue->requeue_front(id, static_cast<int>(it->second.job.prompt_ids.size()));
}

// Forwards what the client has not received yet: all of it on a first attempt, the part beyond
// the previous attempt's output after a restart (the same tokens, generated again). False when a
// replayed token differs from the one the client has: the job cannot continue seamlessly.
bool forward_chunk(self_ptr self, token_chunk& chunk) {
  auto it = self->state.jobs.find(chunk.id.value);
  if (it == self->state.jobs.end()) return true;  // cancelled meanwhile
  auto fresh = self->state.ledger->on_chunk(chunk.id.value, chunk.token_ids, chunk.text);
  if (fresh.diverged) return false;
  // Logprobs pair with token ids: the fresh ids are the chunk's last ones (a replay repeats the
  // rest), so are their logprobs.
  std::vector<token_logprob> logprobs;
  const size_t n = fresh.token_ids.size();
  if (chunk.logprobs.size() >= n)
    logprobs.assign(std::make_move_iterator(chunk.logprobs.end() - static_cast<std::ptrdiff_t>(n)),
                    std::make_move_iterator(chunk.logprobs.end()));
  if (!fresh.token_ids.empty() || !fresh.text.empty())
    self->send(it->second.client, token_chunk{chunk.id, std::move(fresh.token_ids),
                                              std::move(fresh.text), std::move(logprobs)});
  else if (chunk.prompt_tokens_done > 0)  // prefill progress (repeated by a replay: harmless)
    self->send(it->second.client, token_chunk{chunk.id, {}, {}, {}, chunk.prompt_tokens_done});
  return true;
}

void schedule(self_ptr self, const coordinator_options& o);
void watch_workerless(self_ptr self, const coordinator_options& o);

void on_report(self_ptr self, size_t w, step_report& report, const coordinator_options& o) {
  auto& st = self->state;
  st.workers[w].stepping = false;
  if (!st.workers[w].alive()) return;  // its jobs were already restarted elsewhere
  st.workers[w].kv = std::move(report.kv);
  for (auto& c : report.chunks) {
    if (forward_chunk(self, c)) continue;
    const uint64_t id = c.id.value;
    deliver(self, id, caf::make_message(job_failed{
                          request_id{id}, "a restart after a fault generated different tokens "
                                          "than the client already received; not splicing them"}));
    end_job(self, id);
    st.workers[w].cancelled.push_back(request_id{id});  // still running there: free its KV
  }
  for (auto& f : report.finished) {
    const uint64_t id = f.id.value;
    deliver(self, id, caf::make_message(std::move(f)));
    end_job(self, id);
  }
  for (auto& f : report.failed) {
    const uint64_t id = f.id.value;
    deliver(self, id, caf::make_message(std::move(f)));
    end_job(self, id);
  }
  for (auto& f : report.lost) restart_job(self, f.id.value, f.reason, o.max_restarts);
  schedule(self, o);
}

// The worker is gone: its jobs restart on the others (or wait for one to join).
void worker_down(self_ptr self, size_t w, const std::string& why, const coordinator_options& o) {
  auto& st = self->state;
  if (!st.workers[w].alive()) return;
  st.workers[w].handle = nullptr;
  st.affinity.forget_worker(static_cast<int>(w));
  st.workers[w].joiners.clear();
  st.workers[w].cancelled.clear();
  for (uint64_t id : st.ledger->worker_down(static_cast<int>(w)))
    restart_job(self, id, "worker failed: " + why, o.max_restarts);
  // Nobody else will ever erase the dead worker's blocks on the memory nodes. A request, not a
  // send: in CAF 0.17 a handler's reply to a plain send from another node kills the replier
  // (unexpected_message).
  if (st.workers[w].kv_owner != 0)
    for (const auto& m : st.memory_nodes)
      self->request(m, std::chrono::seconds(10), kv_erase_owner{st.workers[w].kv_owner})
          .then([](kv_erase_result&) {}, [](caf::error&) {});
  update_capacity(st);
  if (st.ledger->num_alive() == 0) st.workerless_since = std::chrono::steady_clock::now();
  schedule(self, o);
  watch_workerless(self, o);
}

// Sends worker w its next plan when it has none in flight and has anything to do.
void step_worker(self_ptr self, size_t w, const coordinator_options& o) {
  auto& worker = self->state.workers[w];
  if (!worker.alive() || worker.stepping) return;
  if (worker.joiners.empty() && worker.cancelled.empty() &&
      self->state.ledger->num_running(static_cast<int>(w)) == 0)
    return;
  step_plan plan;
  for (uint64_t id : worker.joiners) plan.joiners.push_back(self->state.jobs.at(id).job);
  worker.joiners.clear();
  plan.cancelled.swap(worker.cancelled);
  worker.stepping = true;
  const caf::duration timeout = o.step_timeout.count() > 0 ? caf::duration{o.step_timeout}
                                                           : caf::duration{caf::infinite};
  self->request(worker.handle, timeout, std::move(plan))
      .then([self, w, o](step_report& report) { on_report(self, w, report, o); },
            [self, w, o](caf::error& err) {
              self->state.workers[w].stepping = false;
              const std::string why =
                  err == caf::sec::request_timeout
                      ? absl::StrCat("no answer to a step within ",
                                     std::chrono::duration<double>(o.step_timeout).count(),
                                     " s (--step-timeout)")
                      : to_string(err);
              if (err == caf::sec::request_timeout)  // it may still be alive: do not reuse it
                caf::anon_send_exit(self->state.workers[w].handle, caf::exit_reason::user_shutdown);
              worker_down(self, w, why, o);
            });
}

// The least-loaded worker, or with prefix affinity the one that ran a job with the same first
// prompt block (its prefix cache holds it) unless it runs a quarter of a worker's batch more.
int placement_for(coordinator_state& st, uint64_t id, const coordinator_options& o) {
  const int least = st.ledger->least_loaded();
  if (!o.prefix_affinity) return least;
  const auto sig = scheduler::prefix_affinity::signature(st.jobs.at(id).job.prompt_ids);
  const int chosen = st.affinity.choose(
      sig, least, std::max(1, st.per_worker_running / 4),
      [&](int w) { return st.ledger->num_running(w); }, [&](int w) { return st.ledger->alive(w); });
  st.affinity.record(sig, chosen);
  return chosen;
}

// Places the queue's joiners on the least-loaded workers, then steps every worker with work.
void schedule(self_ptr self, const coordinator_options& o) {
  auto& st = self->state;
  if (st.ledger->num_alive() > 0) {
    for (uint64_t id : st.queue->next_joiners()) {
      const int best = placement_for(st, id, o);
      st.workers[static_cast<size_t>(best)].joiners.push_back(id);
      st.ledger->place(id, best);
    }
  }
  for (size_t w = 0; w < st.workers.size(); ++w) step_worker(self, w, o);
}

void cancel(self_ptr self, uint64_t id) {
  auto& st = self->state;
  auto it = st.jobs.find(id);
  if (it == st.jobs.end()) return;
  if (const int w = st.ledger->worker_of(id); w >= 0) {
    auto& worker = st.workers[static_cast<size_t>(w)];
    auto& j = worker.joiners;
    if (auto pos = std::find(j.begin(), j.end(), id); pos != j.end())
      j.erase(pos);  // never sent: nothing to free on the worker
    else
      worker.cancelled.push_back(request_id{id});
  }
  st.ledger->remove(id);
  st.queue->cancel(id);
  st.jobs.erase(it);
}

// While no worker is alive and jobs wait, a tick every second (at most) fails the jobs that have
// had no worker for no_worker_timeout: the time since the last worker died, or since the job
// was admitted if later.
void watch_workerless(self_ptr self, const coordinator_options& o) {
  auto& st = self->state;
  if (o.no_worker_timeout.count() <= 0 || st.ledger->num_alive() > 0 || st.jobs.empty() ||
      st.no_worker_tick_pending)
    return;
  st.no_worker_tick_pending = true;
  self->delayed_send(self, std::min<std::chrono::milliseconds>(o.no_worker_timeout, std::chrono::seconds(1)),
                     no_worker_tick_atom::value);
}

void on_no_worker_tick(self_ptr self, const coordinator_options& o) {
  auto& st = self->state;
  st.no_worker_tick_pending = false;
  if (st.ledger->num_alive() > 0 || !st.workerless_since) return;
  const auto now = std::chrono::steady_clock::now();
  std::vector<uint64_t> expired;
  for (const auto& [id, job] : st.jobs)
    if (now - std::max(*st.workerless_since, job.admitted_at) >= o.no_worker_timeout)
      expired.push_back(id);
  const auto seconds = std::chrono::duration<double>(o.no_worker_timeout).count();
  for (uint64_t id : expired) {
    deliver(self, id, caf::make_message(job_failed{
                          request_id{id}, absl::StrCat("no worker has been available for ", seconds,
                                                       " s (--no-worker-timeout); start a worker "
                                                       "node or check why they left")}));
    end_job(self, id);
  }
  watch_workerless(self, o);
}

void add_worker(self_ptr self, const caf::actor& handle, const coordinator_options& o,
                uint32_t kv_owner = 0, std::string endpoint = {}) {
  auto& st = self->state;
  st.workerless_since.reset();
  self->monitor(handle);
  st.workers.push_back(coordinator_worker{handle, {}, {}, false, kv_owner, std::move(endpoint)});
  st.ledger->add_worker();  // the same index
  self->send(handle, memory_nodes_atom::value, st.memory_nodes, st.memory_endpoints);
  update_capacity(st);
  schedule(self, o);
}

void broadcast_memory_nodes(self_ptr self) {
  for (const auto& w : self->state.workers)
    if (w.alive())
      self->send(w.handle, memory_nodes_atom::value, self->state.memory_nodes,
                 self->state.memory_endpoints);
}

void on_down(self_ptr self, const caf::down_msg& down, const coordinator_options& o) {
  auto& st = self->state;
  for (size_t w = 0; w < st.workers.size(); ++w)
    if (st.workers[w].alive() && st.workers[w].handle.address() == down.source) {
      worker_down(self, w, to_string(down.reason), o);
      return;
    }
  auto& mem = st.memory_nodes;
  const auto m = std::find_if(mem.begin(), mem.end(),
                              [&](const caf::actor& a) { return a.address() == down.source; });
  if (m != mem.end()) {
    st.memory_endpoints.erase(st.memory_endpoints.begin() + (m - mem.begin()));
    mem.erase(m);
    broadcast_memory_nodes(self);
    return;
  }
  // A client that goes away cancels its jobs (their KV is freed at the next step).
  std::vector<uint64_t> gone;
  for (const auto& [id, job] : st.jobs)
    if (job.client.address() == down.source) gone.push_back(id);
  for (uint64_t id : gone) cancel(self, id);
  schedule(self, o);
}

void on_submit(self_ptr self, submit_job& job, const coordinator_options& o) {
  auto& st = self->state;
  auto client = caf::actor_cast<caf::actor>(self->current_sender());
  job.id = request_id{st.next_id++};
  encode_text(job, o);
  if (auto bad = check_job(job, o)) {
    self->send(client, job_rejected{job.id, *bad});
    return;
  }
  if (st.queue->admit(job.id.value, static_cast<int>(job.prompt_ids.size())) ==
      scheduler::admission::queue_full) {
    self->send(client, job_rejected{job.id,
                                    absl::StrCat("queue full (", o.batching.max_queued,
                                                 " jobs waiting); retry later"),
                                    /*retry_later=*/true});
    return;
  }
  if (client) self->monitor(client);
  const request_id id = job.id;
  st.jobs[id.value] = coordinator_job{std::move(job), client};
  st.ledger->admit(id.value);
  self->send(client, job_accepted{id, st.queue->queue_position(id.value)});
  schedule(self, o);
  watch_workerless(self, o);
}

// Membership, queue and the live workers' KV figures (their latest step_report's), without the
// memory nodes' bytes (with_memory_bytes asks for those).
// sum[i] += part[i], growing sum to part's length.
void add_per_tier(std::vector<uint64_t>& sum, const std::vector<uint64_t>& part) {
  if (sum.size() < part.size()) sum.resize(part.size());
  for (size_t i = 0; i < part.size(); ++i) sum[i] += part[i];
}

runtime_metrics snapshot(self_ptr self, const coordinator_options& o) {
  const auto& st = self->state;
  runtime_metrics m;
  m.context_length = o.context_length;
  m.workers = static_cast<uint32_t>(st.ledger->num_alive());
  m.memory_nodes = static_cast<uint32_t>(st.memory_nodes.size());
  m.queued = static_cast<uint32_t>(st.queue->num_queued());
  m.running = static_cast<uint32_t>(st.queue->num_running());
  m.restarts = st.ledger->total_restarts();
  m.kv.sequences_per_phase.assign(3, 0);
  for (const auto& w : st.workers) {
    if (!w.alive()) continue;
    const worker_kv_metrics& k = w.kv;
    if (m.kv.tiers.size() < k.tiers.size()) m.kv.tiers.resize(k.tiers.size());
    for (size_t t = 0; t < k.tiers.size(); ++t) {
      auto& sum = m.kv.tiers[t];
      sum.bytes_resident += k.tiers[t].bytes_resident;
      sum.peak_bytes_resident += k.tiers[t].peak_bytes_resident;
      sum.tokens_loaded += k.tiers[t].tokens_loaded;
      sum.bytes_read += k.tiers[t].bytes_read;
      sum.bytes_written += k.tiers[t].bytes_written;
      sum.hits += k.tiers[t].hits;
      sum.misses += k.tiers[t].misses;
    }
    m.kv.tokens_recomputed += k.tokens_recomputed;
    m.kv.preemptions += k.preemptions;
    add_per_tier(m.kv.prefix_hit_tokens, k.prefix_hit_tokens);
    add_per_tier(m.kv.prefix_cache_bytes, k.prefix_cache_bytes);
    for (size_t p = 0; p < k.sequences_per_phase.size() && p < 3; ++p)
      m.kv.sequences_per_phase[p] += k.sequences_per_phase[p];
  }
  return m;
}

// Calls done(bytes held on all memory nodes) once every node answered (a node that does not
// answer within 2 s counts 0); at once when there are none.
void with_memory_bytes(self_ptr self, std::function<void(uint64_t)> done) {
  const auto& nodes = self->state.memory_nodes;
  if (nodes.empty()) {
    done(0);
    return;
  }
  auto pending = std::make_shared<size_t>(nodes.size());
  auto bytes = std::make_shared<uint64_t>(0);
  auto one_done = [=] {
    if (--*pending == 0) done(*bytes);
  };
  for (const auto& m : nodes)
    self->request(m, std::chrono::seconds(2), tier_usage_request{})
        .then(
            [=](tier_usage& u) {
              *bytes += u.host_bytes_used + u.nvme_bytes_used;
              one_done();
            },
            [=](caf::error&) { one_done(); });
}

using status_promise =
    caf::typed_response_promise<uint32_t, uint32_t, uint32_t, uint32_t, uint64_t, uint64_t>;

// (workers alive, memory nodes, queued, running, restarts, bytes held on all memory nodes).
status_promise status_of(self_ptr self, const coordinator_options& o) {
  auto rp = self->make_response_promise<uint32_t, uint32_t, uint32_t, uint32_t, uint64_t,
                                        uint64_t>();
  const runtime_metrics m = snapshot(self, o);
  with_memory_bytes(self, [=](uint64_t bytes) mutable {
    rp.deliver(m.workers, m.memory_nodes, m.queued, m.running, m.restarts, bytes);
  });
  return rp;
}

caf::typed_response_promise<runtime_metrics> metrics_of(self_ptr self,
                                                       const coordinator_options& o) {
  auto rp = self->make_response_promise<runtime_metrics>();
  auto m = std::make_shared<runtime_metrics>(snapshot(self, o));
  with_memory_bytes(self, [=](uint64_t bytes) mutable {
    m->memory_node_bytes = bytes;
    rp.deliver(*m);
  });
  return rp;
}

}  // namespace

caf::behavior coordinator(caf::stateful_actor<coordinator_state>* self,
                          std::vector<caf::actor> workers, coordinator_options options) {
  self->state.queue = std::make_unique<scheduler::job_queue>(options.batching);
  self->state.ledger = std::make_unique<scheduler::job_ledger>(options.max_restarts);
  self->state.per_worker_running = options.batching.max_running;
  self->set_default_handler(caf::drop);
  self->set_down_handler([self, options](caf::down_msg& down) { on_down(self, down, options); });
  if (workers.empty()) self->state.workerless_since = std::chrono::steady_clock::now();
  for (auto& w : workers) add_worker(self, w, options);
  return {
      [self, options](no_worker_tick_atom) { on_no_worker_tick(self, options); },
      [options](model_identity_atom) { return options.model_identity; },
      [self, options](submit_job& job) { on_submit(self, job, options); },
      [self, options](cancel_job& c) {
        cancel(self, c.id.value);
        schedule(self, options);
      },
      [self, options](node_hello& hello) {
        auto node = caf::actor_cast<caf::actor>(self->current_sender());
        if (!node) return;  // an anonymous hello names no node
        if (hello.role == "worker" && !options.model_identity.empty() &&
            hello.model_identity != options.model_identity) {
          std::cerr << "alisa: coordinator: refused worker " << hello.endpoint
                    << ": it serves another model\n";
          return;
        }
        if (hello.role == "worker") {
          add_worker(self, node, options, static_cast<uint32_t>(hello.id.value),
                     hello.endpoint);
        } else if (hello.role == "memory") {
          self->monitor(node);
          self->state.memory_nodes.push_back(node);
          self->state.memory_endpoints.push_back(hello.endpoint);
          broadcast_memory_nodes(self);
        }
      },
      [self, options](status_atom) { return status_of(self, options); },
      [self, options](metrics_atom) { return metrics_of(self, options); },
      [self](const peer_link_bench& request) { return start_peer_link_bench(self, request); },
  };
}

}  // namespace alisa::actors
