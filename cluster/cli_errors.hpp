#pragma once
// One error style for the command line: "alisa: error: <what is wrong>" on stderr, exit code 1.
#include <iostream>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace alisa::cluster {

inline int fail(std::string_view message) {
  std::cerr << "alisa: error: " << message << std::endl;
  return 1;
}

// Debian's Abseil has its own string_view type, hence the explicit conversion.
inline int fail(const absl::Status& status) { return fail(std::string(status.message())); }

// Runs a command's body; an exception it lets out is reported in the same one-line style.
template <class Body>
int run_reporting_errors(Body&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

}  // namespace alisa::cluster
