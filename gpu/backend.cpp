#include "gpu/backend.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "gpu/cpu/cpu_backend.hpp"
#ifdef ALISA_HAVE_CUDA
#include "gpu/cuda/cuda_backend.hpp"
#endif
#include "gpu/selection_reference.hpp"

namespace alisa::gpu {

bool cuda_backend_built() {
#ifdef ALISA_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

namespace {

std::unique_ptr<backend> make_cuda_backend() {
#ifdef ALISA_HAVE_CUDA
  const cuda::device_probe probe = cuda::probe_device();
  if (probe.device < 0) throw std::runtime_error(probe.reason);
  return std::make_unique<cuda::cuda_backend>(probe.device);
#else
  throw std::runtime_error("CUDA backend not built in this binary (nvcc was not found at configure time)");
#endif
}

}  // namespace

std::unique_ptr<backend> make_backend(backend_kind kind, int num_threads) {
  switch (kind) {
    case backend_kind::cpu:
      return std::make_unique<cpu::cpu_backend>(num_threads);
    case backend_kind::cuda:
      return make_cuda_backend();
    case backend_kind::automatic: {
      std::string why;
      return make_auto_backend(num_threads, why);
    }
  }
  throw std::invalid_argument("make_backend: unknown backend kind");
}

std::unique_ptr<backend> make_auto_backend(int num_threads, std::string& why) {
  try {
    auto be = make_cuda_backend();
    why = "auto: CUDA device usable";
    return be;
  } catch (const std::runtime_error& e) {
    why = std::string("auto: CPU, since ") + e.what();
  }
  return std::make_unique<cpu::cpu_backend>(num_threads);
}

// --- selection defaults: download, then the host reference ---------------------------------------

void backend::top_k(const float* scores, int count, int k, int32_t* out_indices) {
  if (count <= 0 || k <= 0 || k > count)
    throw std::invalid_argument("top_k: k must be in [1, count], got k = " + std::to_string(k) +
                                ", count = " + std::to_string(count));
  std::vector<float> host(static_cast<size_t>(count));
  download(host.data(), scores, host.size() * sizeof(float));
  const std::vector<int32_t> picked = top_k_indices(host, k);
  std::copy(picked.begin(), picked.end(), out_indices);
}

int32_t backend::sample_token(const float* logits, int vocab, const sampling_params& params,
                              double u) {
  if (vocab <= 0)
    throw std::invalid_argument("sample_token: vocab must be > 0, got " + std::to_string(vocab));
  std::vector<float> host(static_cast<size_t>(vocab));
  download(host.data(), logits, host.size() * sizeof(float));
  return pick_token(host, params, u);
}

}  // namespace alisa::gpu
