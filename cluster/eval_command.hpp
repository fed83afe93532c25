#pragma once
// `alisa eval ppl`: perplexity of a model over a text file, computed the way llama-perplexity does
// (actors/perplexity.hpp), under any attention policy and KV dtype, so accuracy can be reported
// next to speed.
#include <CLI/CLI.hpp>

namespace alisa::cluster {

void add_eval_command(CLI::App& app, int& exit_code);

}  // namespace alisa::cluster
