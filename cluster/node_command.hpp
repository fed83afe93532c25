#pragma once
// `alisa node --role coordinator|worker|memory`: one process of a cluster (docs/cluster.md).
//
//   coordinator: loads the model's config and tokenizer (not its weights), publishes the
//     coordinator actor on --listen, admits and batches jobs from clients (alisa submit);
//   worker: loads the model, publishes a gpu_worker on --listen, joins --coordinator; its KV
//     tiers beyond the device pool are the memory nodes the coordinator tells it about;
//   memory: publishes a memory_tier (--host-kv-budget of RAM spilling to --nvme-dir) on --listen,
//     joins --coordinator.
// Every node stops cleanly on Ctrl-C / SIGTERM; worker and memory nodes also stop when the
// coordinator goes away.
#include <string>

#include <CLI/CLI.hpp>

#include "cluster/engine_flags.hpp"
#include "cluster/node_system.hpp"
#include "scheduler/job_queue.hpp"

namespace alisa::cluster {

struct node_flags {
  std::string role;
  std::string listen = "127.0.0.1:0";
  std::string coordinator;
  int join_timeout_s = 30;
  double no_worker_timeout_s = 60;
  double step_timeout_s = 300;      // coordinator: a worker's step unanswered this long = failed
  int coordinator_grace_s = 30;     // worker / memory: how long to try to rejoin a lost coordinator  // coordinator: fail a job that has had no worker this long
  engine_flags engine;
  scheduler::batching_options batching;
  link_security security;
};

void add_batching_flags(CLI::App& app, scheduler::batching_options& batching);
// The coordinator's liveness flags (--no-worker-timeout): `node` and `cluster up`.
void add_coordinator_flags(CLI::App& app, node_flags& flags);
void add_node_command(CLI::App& app, int& exit_code);

}  // namespace alisa::cluster
