#include "cluster/output_check.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

namespace alisa::cluster {

int finish_output(int exit_code) {
  errno = 0;
  std::cout.flush();
  const bool failed = std::fflush(stdout) != 0 || std::ferror(stdout) != 0 || std::cout.fail();
  if (!failed) return exit_code;
  const int error = errno;
  std::cerr << "alisa: error: writing standard output failed"
            << (error != 0 ? std::string(": ") + std::strerror(error) : std::string()) << std::endl;
  return exit_code != 0 ? exit_code : 1;
}

}  // namespace alisa::cluster
