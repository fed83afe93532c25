#include "cluster/submit_command.hpp"

#include <caf/actor_system.hpp>

#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "actors/client.hpp"
#include "cluster/cli_errors.hpp"
#include "cluster/engine_flags.hpp"
#include "cluster/job_json.hpp"
#include "cluster/node_system.hpp"

namespace alisa::cluster {
namespace {

struct submit_flags {
  std::string coordinator = "127.0.0.1:7700";
  std::string prompt;
  sampling_params sampling;
  bool json = false;
  int connect_timeout_s = 10;
  tls_options tls;
};

int submit(submit_flags& flags) {
  if (auto err = validate(flags.sampling)) return fail(*err);
  if (auto err = flags.tls.validate()) return fail(*err);
  std::string error;
  auto at = parse_endpoint(flags.coordinator, "--coordinator", error);
  if (!at) return fail(error);
  node_system node(flags.tls);
  auto coordinator = node.connect(*at, std::chrono::seconds(flags.connect_timeout_s), error);
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
  cmd->add_option("--coordinator", flags->coordinator, "HOST:PORT of the coordinator")
      ->capture_default_str();
  cmd->add_option("--prompt,-p", flags->prompt, "the prompt text (empty = start from BOS)");
  add_sampling_flags(*cmd, flags->sampling);
  cmd->add_flag("--json", flags->json,
                "print one JSON object (the fields of `alisa run --json` that the job's worker "
                "reports) instead of streaming text");
  cmd->add_option("--connect-timeout", flags->connect_timeout_s,
                  "seconds to keep trying to reach the coordinator")
      ->capture_default_str();
  add_tls_flags(*cmd, flags->tls);
  cmd->callback([flags, &exit_code] {
    try {
      exit_code = submit(*flags);
    } catch (const std::exception& e) {
      exit_code = fail(e.what());
    }
  });
}

}  // namespace alisa::cluster
