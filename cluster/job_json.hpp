#pragma once
// job_json — the JSON object of one finished job, shared by `alisa run --json` and
// `alisa submit --json` (docs/formats.md): text, token ids, counts, timings, attention figures and
// the memory nodes' share of the KV, as the worker reported them in job_finished. `run` adds what
// only this process knows (model, attention options, the tier report).
#include <nlohmann/json.hpp>

#include "actors/client.hpp"

namespace alisa::cluster {

nlohmann::json job_json(const actors::job_outcome& outcome);
// Decode steps per second of decode time (0 when nothing was decoded).
double decode_tokens_per_s(const job_finished& f);

}  // namespace alisa::cluster
