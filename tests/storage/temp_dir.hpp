#pragma once
// temp_dir — a fresh directory per test, removed when the test ends:
// <tmp>/alisa-storage-test-<pid>-<test name>.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>

namespace alisa::storage::test {

class temp_dir {
 public:
  temp_dir()
      : path_(std::filesystem::temp_directory_path() /
              ("alisa-storage-test-" + std::to_string(::getpid()) + "-" + current_test_name())) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  // Parameterised tests are named "Suite/Test/param": slashes become dashes.
  static std::string current_test_name() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "-" + info->name();
    std::replace(name.begin(), name.end(), '/', '-');
    return name;
  }

  std::filesystem::path path_;
};

}  // namespace alisa::storage::test
