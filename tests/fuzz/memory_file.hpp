#pragma once
// memory_file — the fuzz input as a file path (/proc/self/fd/N of a memfd), for loaders that take
// a path and map it: no disk I/O per execution.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace alisa::fuzz {

class memory_file {
 public:
  memory_file(const uint8_t* data, size_t size) : fd_(::memfd_create("alisa-fuzz", MFD_CLOEXEC)) {
    size_t written = 0;
    while (written < size) {
      const ssize_t n = ::write(fd_, data + written, size - written);
      if (n <= 0) break;
      written += static_cast<size_t>(n);
    }
  }
  ~memory_file() { ::close(fd_); }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

}  // namespace alisa::fuzz
