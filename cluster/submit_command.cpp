#include "cluster/submit_command.hpp"

#include <caf/actor_system.hpp>

#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "actors/client.hpp"
#include "cluster/cli_errors.hpp"
#include "cluster/engine_flags.hpp"
#include "cluster/job_json.hpp"
#include "cluster/coordinator_client.hpp"
#include "cluster/node_system.hpp"

namespace alisa::cluster {
namespace {

struct submit_flags {
  coordinator_flags client;
  std::string prompt;
  sampling_params sampling;
  bool json = false;
};

int submit(submit_flags& flags) {
  if (auto err = validate(flags.sampling)) return fail(*err);
  if (auto err = flags.client.security.validate()) return fail(*err);
  node_system node(flags.client.security);
  endpoint at;
  std::string error;
  auto coordinator = connect_coordinator(node, flags.client, at, error);
  if (!coordinator) return fail(error);
  submit_job job;
  job.prompt_text = flags.prompt;
  job.sampling = flags.sampling;
  if (!flags.json) std::cout << flags.prompt << std::flush;
  auto outcome = actors::submit_and_wait(node.system(), *coordinator, job, [&](std::string_view s) {
    if (!flags.json) std::cout << s << std::flush;
  });
  if (!flags.json) std::cout << std::endl;
  if (!outcome.error.empty()) return fail(outcome.error);
  if (flags.json) {
    std::cout << job_json(outcome).dump() << std::endl;
    return 0;
  }
  const auto& f = outcome.finished;
  std::fprintf(stderr,
               "alisa: %d prompt tokens in %.1f ms, %d generated (%s), decode %.1f tok/s, "
               "%lld KV rows recomputed\n",
               f.num_prompt_tokens, f.prefill_ms, f.num_generated_tokens, f.finish_reason.c_str(),
               decode_tokens_per_s(f), static_cast<long long>(f.tokens_recomputed));
  return 0;
}

}  // namespace

void add_submit_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<submit_flags>();
  CLI::App* cmd = app.add_subcommand(
      "submit", "send a generation job to a running cluster's coordinator and stream the text");
  add_coordinator_flags(*cmd, flags->client);
  cmd->add_option("--prompt,-p", flags->prompt, "the prompt text (empty = start from BOS)");
  add_sampling_flags(*cmd, flags->sampling);
  cmd->add_flag("--json", flags->json,
                "print one JSON object (the fields of `alisa run --json` that the job's worker "
                "reports) instead of streaming text");
  cmd->callback([flags, &exit_code] {
    exit_code = run_reporting_errors([&] { return submit(*flags); });
  });
}

}  // namespace alisa::cluster
