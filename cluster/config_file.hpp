#pragma once
// config_file — `--config FILE` for every command: the file sets options, the command line
// overrides them (docs/config.md). The format is one option per line:
//
//   # comment
//   model = ../shared/models/stories260K/stories260K.bin
//   attention = swa
//   max-tokens = 64
//   json = true          # a flag: true adds it, false leaves it out
//   stop = "\n\n"        # quotes are removed; repeat the line for options given several times
//
// Names are the long flag names without "--". Expansion happens before parsing: the file's
// options are inserted where --config stood (as --name=value), except those the command line also
// gives by their long name (an override by a short alias such as -m is a duplicate-option error).
#include <optional>
#include <string>
#include <vector>

namespace alisa::cluster {

// The command line with `--config FILE` (or `--config=FILE`) replaced by the file's options.
// nullopt and `error` naming the file and line when it cannot be read or a line is malformed.
std::optional<std::vector<std::string>> expand_config_file(const std::vector<std::string>& args,
                                                           std::string& error);

}  // namespace alisa::cluster
