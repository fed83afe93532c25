#pragma once
// backend_params — the backend kinds a backend test runs on: the CPU backend (at 1 and 2 threads)
// always, the CUDA backend whenever this binary was built with it. A kind that is built but not
// usable here (no GPU, no driver) stays in the list so its tests run and report *skipped* with the
// reason (skip_unless_usable), rather than vanishing from the test list.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "gpu/backend.hpp"

namespace alisa::test {

struct backend_param {
  gpu::backend_kind kind = gpu::backend_kind::cpu;
  int threads = 1;
};

inline std::vector<backend_param> built_backend_params() {
  std::vector<backend_param> params{{gpu::backend_kind::cpu, 1}, {gpu::backend_kind::cpu, 2}};
  if (gpu::cuda_backend_built()) params.push_back({gpu::backend_kind::cuda, 1});
  return params;
}

inline std::string backend_param_name(const testing::TestParamInfo<backend_param>& info) {
  return std::string(info.param.kind == gpu::backend_kind::cuda ? "cuda" : "cpu") + "_" +
         std::to_string(info.param.threads) + "t";
}

// The backend, or nullptr with the reason in `why` when this machine cannot run it.
inline std::unique_ptr<gpu::backend> try_make_backend(const backend_param& p, std::string& why) {
  try {
    return gpu::make_backend(p.kind, p.threads);
  } catch (const std::runtime_error& e) {
    why = e.what();
    return nullptr;
  }
}

// Tolerance per backend: the CPU backend's own (tight) one, or the acceptance bound the GPU is
// held to (fp32 1e-4, bf16/fp16 1e-2 relative), whichever applies.
inline double tolerance(const backend_param& p, double cpu_tol, double cuda_tol) {
  return p.kind == gpu::backend_kind::cuda ? cuda_tol : cpu_tol;
}

}  // namespace alisa::test

// In SetUp(): skips the test, naming why, when the parameter's backend is not usable here.
#define ALISA_MAKE_BACKEND_OR_SKIP(be, param)                                    \
  do {                                                                           \
    std::string alisa_why_;                                                      \
    (be) = ::alisa::test::try_make_backend((param), alisa_why_);                 \
    if (!(be)) GTEST_SKIP() << "backend not available: " << alisa_why_;          \
  } while (0)
