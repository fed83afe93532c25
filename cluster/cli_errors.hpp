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

}  // namespace alisa::cluster
