#pragma once
// mapped_file — a whole file mapped read-only (RAII). Weights are used straight from the mapping,
// so loading a multi-GB checkpoint costs page faults, not copies. Held through shared_ptr in
// model_weights::storage so every tensor_view into it stays valid as long as the weights live.
#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace alisa::model {

class mapped_file {
 public:
  // NotFound when the path does not exist; an empty file maps to data() == nullptr, size() == 0.
  static absl::StatusOr<std::shared_ptr<const mapped_file>> open(const std::string& path);

  ~mapped_file();
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;

  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  mapped_file(std::string path, const std::byte* data, size_t size) : path_(std::move(path)), data_(data), size_(size) {}
  std::string path_;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace alisa::model
