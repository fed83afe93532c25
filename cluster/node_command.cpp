#include "cluster/node_command.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <thread>

#include "actors/coordinator.hpp"
#include "actors/gpu_worker.hpp"
#include "actors/memory_tier.hpp"
#include "engine/model_card.hpp"
#include "engine/model_identity.hpp"
#include "actors/runtime_atoms.hpp"
#include "cluster/cli_errors.hpp"
#include "cluster/log.hpp"
#include "cluster/node_membership.hpp"
#include "cluster/node_system.hpp"
#include "cluster/shutdown_signal.hpp"
#include "proto/caf_messages.hpp"

namespace alisa::cluster {
namespace {

using namespace std::chrono_literals;

// Publishes `whom` and prints where, so scripts (and `cluster up`) can find it.
std::optional<endpoint> listen(node_system& node, const caf::actor& whom, const node_flags& flags,
                               std::string& error) {
  auto at = parse_endpoint(flags.listen, "--listen", error);
  if (!at) return std::nullopt;
  auto port = node.publish(whom, *at, error);
  if (!port) return std::nullopt;
  at->port = *port;
  std::cout << flags.role << " listening on " << at->to_string() << std::endl;
  return at;
}

int run_coordinator(node_flags& flags) {
  auto card = engine::open_model_card(flags.engine.options);
  if (!card.ok()) return fail(card.status());
  actors::coordinator_options o;
  o.batching = flags.batching;
  o.no_worker_timeout = std::chrono::milliseconds(static_cast<int64_t>(flags.no_worker_timeout_s * 1000));
  o.step_timeout = std::chrono::milliseconds(static_cast<int64_t>(flags.step_timeout_s * 1000));
  o.context_length = card->config.max_position_embeddings;
  o.model_identity = engine::model_identity(*card, flags.engine.options);
  o.prefix_affinity = flags.engine.options.prefix_cache_on();
  o.vocab_size = card->config.vocab_size;
  o.bos_token_id = card->config.bos_token_id;
  o.tokenizer = card->tokenizer;
  node_system node(flags.security);
  auto coordinator = node.system().spawn(actors::coordinator, std::vector<caf::actor>{}, o);
  std::string error;
  if (!listen(node, coordinator, flags, error)) {
    caf::anon_send_exit(coordinator, caf::exit_reason::user_shutdown);
    return fail(error);
  }
  return serve_until_shutdown(node, {coordinator}, nullptr, "");
}

int run_worker(node_flags& flags) {
  // A worker's host and NVMe tiers are the cluster's memory nodes, not its own RAM and disk.
  auto options = flags.engine.options;
  options.tiers.host_budget = 0;
  options.tiers.nvme_dir.clear();
  options.tiers.nvme_budget = 0;
  options.tiers.host_from_memory_nodes = options.tiers.tiered();
  // Declared before the engine: the engine's remote stores hold scoped actors of this system and
  // must be destroyed before it.
  node_system node(flags.security);
  log_loading(options.model);
  const auto load_start = std::chrono::steady_clock::now();
  auto engine = engine::local_engine::open(options);
  if (!engine.ok()) return fail(engine.status());
  log_model(**engine, seconds_since(load_start));
  // Detached: a forward step blocks its thread.
  // A direct connection to each memory node (one try; when it fails the KV is relayed through
  // the coordinator's node, slower but still correct).
  auto dial = [&node](const std::string& where) {
    std::string error;
    auto at = parse_endpoint(where, "memory node", error);
    if (at) node.connect_once(*at, error);
    if (!error.empty()) spdlog::warn("worker: no direct connection to memory node {}: {}", where, error);
  };
  auto worker = node.system().spawn<caf::detached>(actors::gpu_worker, engine->get(),
                                                   actors::memory_dialer{dial});
  std::string error;
  auto at = listen(node, worker, flags, error);
  std::optional<caf::actor> coordinator;
  std::string identity;
  // A worker's id is its sequences' owner prefix: what the memory nodes erase if it dies.
  const auto* tiers = static_cast<const engine::local_engine&>(**engine).tier_store();
  const node_id id{tiers ? tiers->sequence_owner() : 0};
  if (at) {
    auto card = engine::open_model_card(flags.engine.options);
    if (!card.ok()) {
      caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
      return fail(card.status());
    }
    card->weight_type = (*engine)->options().weight_type;  // --dtype auto as this worker settled it
    identity = engine::model_identity(*card, flags.engine.options);
    coordinator = join(node, worker, flags, *at, id, identity,
                       std::chrono::seconds(flags.join_timeout_s), error);
  }
  if (!coordinator) {
    caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
    return fail(error);
  }
  rejoin_plan plan;
  plan.grace_s = flags.coordinator_grace_s;
  plan.lost = [worker] { caf::anon_send(worker, actors::reset_jobs_atom::value); };
  plan.rejoin = [&](std::string& e) {
    return join(node, worker, flags, *at, id, identity, std::chrono::seconds(plan.grace_s), e);
  };
  return serve_until_shutdown(node, {worker}, *coordinator, flags.coordinator, plan);
}

int run_memory(node_flags& flags) {
  const auto& tiers = flags.engine.options.tiers;
  if (tiers.host_budget == 0 && tiers.nvme_dir.empty())
    return fail("a memory node needs --host-kv-budget (RAM for KV blocks) and/or --nvme-dir");
  actors::memory_tier_options o;
  o.host_budget = tiers.host_budget;
  o.nvme_dir = tiers.nvme_dir;
  o.nvme_budget = tiers.nvme_budget;
  node_system node(flags.security);
  std::string error;
  auto at = parse_endpoint(flags.listen, "--listen", error);
  if (!at) return fail(error);
  o.node = node_id{at->port};
  auto memory = actors::spawn_memory_tier(node.system(), o);
  if (!memory.ok()) return fail(memory.status());
  at = listen(node, *memory, flags, error);
  std::optional<caf::actor> coordinator;
  if (at)
    coordinator = join(node, *memory, flags, *at, node_id{at->port}, "",
                       std::chrono::seconds(flags.join_timeout_s), error);
  if (!coordinator) {
    caf::anon_send_exit(*memory, caf::exit_reason::user_shutdown);
    return fail(error);
  }
  rejoin_plan plan;
  plan.grace_s = flags.coordinator_grace_s;
  plan.rejoin = [&](std::string& e) {
    return join(node, *memory, flags, *at, node_id{at->port}, "", std::chrono::seconds(plan.grace_s), e);
  };
  return serve_until_shutdown(node, {*memory}, *coordinator, flags.coordinator, plan);
}

// Exceptions (a batching option out of range, a fault opening the engine) are one-line errors:
// the caller runs this under run_reporting_errors().
int run_node(node_flags& flags) {
  flags.engine.check_tier_rules = flags.role != "memory";
  if (auto err = finish_engine_flags(flags.engine)) return fail(*err);
  if (auto err = flags.security.validate()) return fail(*err);
  const int prefill = flags.engine.options.max_prefill_tokens;
  flags.batching.max_prefill_tokens = prefill > 0 ? prefill : std::numeric_limits<int>::max();
  flags.batching.validate();
  if (flags.role != "coordinator" && flags.coordinator.empty())
    return fail("--coordinator HOST:PORT is required for a " + flags.role + " node");
  install_shutdown_signals();
  if (flags.role == "coordinator") return run_coordinator(flags);
  if (flags.role == "worker") return run_worker(flags);
  return run_memory(flags);
}

}  // namespace

void add_batching_flags(CLI::App& app, scheduler::batching_options& batching) {
  app.add_option("--max-queued", batching.max_queued,
                 "jobs that may wait for a place in the batch; more are rejected (queue full)")
      ->capture_default_str();
  app.add_option("--max-running", batching.max_running, "jobs decoding together on one worker")
      ->capture_default_str();
  // --max-prefill-tokens is an engine flag (the workers' step loops chunk prompts by it); the
  // coordinator lets joiners' prompts into one step by the same budget (see run_node).
}

void add_coordinator_flags(CLI::App& app, node_flags& flags) {
  app.add_option("--no-worker-timeout", flags.no_worker_timeout_s,
                 "seconds a job may wait with no worker alive before it fails with an error "
                 "saying so (0 = wait for a worker indefinitely)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 7 * 24 * 3600.0));
  app.add_option("--step-timeout", flags.step_timeout_s,
                 "seconds a worker may take to answer one step before it counts as failed (its "
                 "jobs restart on other workers; 0 = no limit)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 24 * 3600.0));
}

void add_node_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<node_flags>();
  CLI::App* cmd = app.add_subcommand(
      "node", "run one node of a cluster: the coordinator, a GPU worker or a memory tier");
  cmd->add_option("--role", flags->role, "coordinator, worker or memory")
      ->required()
      ->check(CLI::IsMember({"coordinator", "worker", "memory"}));
  cmd->add_option("--listen", flags->listen,
                  "HOST:PORT this node accepts connections on (port 0 = any free port)")
      ->capture_default_str();
  cmd->add_option("--coordinator", flags->coordinator,
                  "HOST:PORT of the coordinator (worker and memory nodes)");
  cmd->add_option("--join-timeout", flags->join_timeout_s,
                  "seconds to keep trying to reach the coordinator")
      ->capture_default_str();
  cmd->add_option("--coordinator-grace", flags->coordinator_grace_s,
                  "seconds a worker or memory node keeps trying to rejoin a coordinator it lost "
                  "(paused, restarted) before it exits (0 = exit at once)")
      ->capture_default_str()
      ->check(CLI::Range(0, 24 * 3600));
  add_engine_flags(*cmd, flags->engine);
  add_batching_flags(*cmd, flags->batching);
  add_coordinator_flags(*cmd, *flags);
  add_security_flags(*cmd, flags->security);
  cmd->callback([flags, &exit_code] {
    exit_code = run_reporting_errors([&] { return run_node(*flags); });
  });
}

}  // namespace alisa::cluster
