#pragma once
// Locating ../shared/models from tests. Tests that need a real model call
// ALISA_REQUIRE_SHARED_MODEL(path): it skips (saying why) on a user's clone without shared/, and
// fails under CI=true, where the models must be present. stories260K and stories260K-hf ship in
// the repository (model/builtin/, byte-identical to shared/'s): their paths resolve there, so the
// tests that use them run on every clone.
#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace alisa::testing {

inline std::string shared_models_dir() { return ALISA_SHARED_MODELS_DIR; }

inline std::string shared_model_path(const std::string& relative) {
  for (const char* builtin : {"stories260K/", "stories260K-hf/"}) {
    const std::string folder(builtin);
    if (relative.rfind(folder, 0) == 0 || relative + "/" == folder)
      return std::string(ALISA_SOURCE_DIR) + "/model/builtin/" + relative;
  }
  return shared_models_dir() + "/" + relative;
}

inline bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

}  // namespace alisa::testing

#define ALISA_REQUIRE_SHARED_MODEL(relative)                                                   \
  do {                                                                                         \
    const std::string alisa_path_ = ::alisa::testing::shared_model_path(relative);             \
    if (!std::filesystem::exists(alisa_path_)) {                                               \
      if (::alisa::testing::running_in_ci())                                                   \
        FAIL() << "CI=true but the shared model fixture is missing: " << alisa_path_;          \
      GTEST_SKIP() << "skipped: shared model fixture not found at " << alisa_path_             \
                   << " (clone with ../shared beside the repository to run this test)";       \
    }                                                                                          \
  } while (0)
