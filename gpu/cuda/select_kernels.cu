// Selection on the device: top-k indices and token sampling with the answers of the host reference
// (gpu/selection_reference.hpp).
//
// Ranking: a small kernel turns the scores into sort keys the way selection_key() does (NaN ->
// -inf; -0.0 -> +0.0, which CUB treats as equal anyway) next to their indices, then CUB's radix
// sort orders the pairs by key descending. The radix sort is stable, so equal keys keep the lower
// index first: exactly the host's (key desc, index asc) order.
// - top_k: the first k indices come back to the host, which sorts those k ascending.
// - sample_token, greedy (or only one candidate kept): a single-block reduction with an explicit
//   (key desc, index asc) tie-break; only the winning id comes back.
// - sample_token, stochastic: the ranking (the sort) runs on the device; the kept candidates'
//   (key, id) pairs -- top_k of them, or the whole vocabulary when top_k is off -- come back to
//   pinned host memory and pick_from_ranked() finishes with the host reference's own arithmetic
//   (double exp / prefix sums / top_p / the draw), so the token is the host's for the same u.
#include <cub/device/device_radix_sort.cuh>
#include <math_constants.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "gpu/cuda/cuda_check.hpp"
#include "gpu/cuda/select_kernels.hpp"
#include "gpu/selection_reference.hpp"

namespace alisa::gpu::cuda {
namespace {

constexpr int kPrepareThreads = 256;
constexpr int kArgmaxThreads = 1024;  // a power of two (tree reduction)

// selection_key() plus the sign of zero folded away.
__device__ __forceinline__ float rank_key(float x) {
  if (isnan(x)) return -CUDART_INF_F;
  return x == 0.0f ? 0.0f : x;
}

// Whether (ka, ia) ranks before (kb, ib): key descending, then index ascending.
__device__ __forceinline__ bool ranks_before(float ka, int32_t ia, float kb, int32_t ib) {
  return ka > kb || (ka == kb && ia < ib);
}

__global__ void prepare_keys_kernel(const float* __restrict__ x, int n, float* __restrict__ keys,
                                    int32_t* __restrict__ ids) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  keys[i] = rank_key(x[i]);
  ids[i] = static_cast<int32_t>(i);
}

// One block: out[0] = the index ranking first over x[0, n) (the lowest among equal maxima).
__global__ void __launch_bounds__(kArgmaxThreads)
    argmax_kernel(const float* __restrict__ x, int n, int32_t* __restrict__ out) {
  __shared__ float s_key[kArgmaxThreads];
  __shared__ int32_t s_id[kArgmaxThreads];
  // The sentinel (-inf, INT32_MAX) loses to every real entry, -inf ones included.
  float best_key = -CUDART_INF_F;
  int32_t best_id = INT32_MAX;
  for (int i = static_cast<int>(threadIdx.x); i < n; i += kArgmaxThreads) {
    const float key = rank_key(x[i]);
    if (ranks_before(key, i, best_key, best_id)) {
      best_key = key;
      best_id = i;
    }
    if (i > n - kArgmaxThreads) break;  // i + kArgmaxThreads would reach n (and may overflow)
  }
  s_key[threadIdx.x] = best_key;
  s_id[threadIdx.x] = best_id;
  __syncthreads();
  for (int stride = kArgmaxThreads / 2; stride > 0; stride /= 2) {
    if (static_cast<int>(threadIdx.x) < stride) {
      const float other_key = s_key[threadIdx.x + stride];
      const int32_t other_id = s_id[threadIdx.x + stride];
      if (ranks_before(other_key, other_id, s_key[threadIdx.x], s_id[threadIdx.x])) {
        s_key[threadIdx.x] = other_key;
        s_id[threadIdx.x] = other_id;
      }
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) out[0] = s_id[0];
}

struct ranking {
  const float* keys;   // device, [n], descending
  const int32_t* ids;  // device, [n], the matching indices
};

// Sorts (rank_key(x[i]), i) by key descending (stable) into scratch; queued on `stream`.
ranking rank_descending(const float* x, int n, select_scratch& scratch, cudaStream_t stream) {
  const size_t count = static_cast<size_t>(n);
  auto* keys = static_cast<float*>(scratch.keys.ensure(2 * count * sizeof(float)));
  auto* ids = static_cast<int32_t*>(scratch.values.ensure(2 * count * sizeof(int32_t)));

  const unsigned blocks = static_cast<unsigned>((count + kPrepareThreads - 1) / kPrepareThreads);
  prepare_keys_kernel<<<blocks, kPrepareThreads, 0, stream>>>(x, n, keys, ids);
  ALISA_CUDA_CHECK_LAUNCH();

  size_t temp_bytes = 0;
  {
    cub::DoubleBuffer<float> k(keys, keys + count);
    cub::DoubleBuffer<int32_t> v(ids, ids + count);
    ALISA_CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(
        nullptr, temp_bytes, k, v, n, 0, static_cast<int>(sizeof(float) * 8), stream));
  }
  void* temp = scratch.temp.ensure(std::max<size_t>(temp_bytes, 1));
  cub::DoubleBuffer<float> k(keys, keys + count);
  cub::DoubleBuffer<int32_t> v(ids, ids + count);
  ALISA_CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(
      temp, temp_bytes, k, v, n, 0, static_cast<int>(sizeof(float) * 8), stream));
  // The DoubleBuffer selectors say which half holds the result.
  return {k.Current(), v.Current()};
}

int32_t device_argmax(const float* x, int n, select_scratch& scratch, cudaStream_t stream) {
  auto* result = static_cast<int32_t*>(scratch.result.ensure(sizeof(int32_t)));
  argmax_kernel<<<1, kArgmaxThreads, 0, stream>>>(x, n, result);
  ALISA_CUDA_CHECK_LAUNCH();
  auto* host = static_cast<int32_t*>(scratch.host.ensure(sizeof(int32_t)));
  ALISA_CUDA_CHECK(
      cudaMemcpyAsync(host, result, sizeof(int32_t), cudaMemcpyDeviceToHost, stream));
  ALISA_CUDA_CHECK(cudaStreamSynchronize(stream));
  return host[0];
}

}  // namespace

void top_k(const float* scores, int count, int k, int32_t* out_host, select_scratch& scratch,
           cudaStream_t stream) {
  if (count <= 0 || k <= 0 || k > count)
    throw std::invalid_argument("top_k: k must be in [1, count], got k = " + std::to_string(k) +
                                ", count = " + std::to_string(count));
  const ranking ranked = rank_descending(scores, count, scratch, stream);
  const size_t bytes = static_cast<size_t>(k) * sizeof(int32_t);
  auto* host = static_cast<int32_t*>(scratch.host.ensure(bytes));
  ALISA_CUDA_CHECK(cudaMemcpyAsync(host, ranked.ids, bytes, cudaMemcpyDeviceToHost, stream));
  ALISA_CUDA_CHECK(cudaStreamSynchronize(stream));
  std::sort(host, host + k);
  std::memcpy(out_host, host, bytes);
}

int32_t sample_token(const float* logits, int vocab, const sampling_params& params, double u,
                     select_scratch& scratch, cudaStream_t stream) {
  if (vocab <= 0)
    throw std::invalid_argument("sample_token: vocab must be > 0, got " + std::to_string(vocab));
  const int keep = kept_candidates(params, vocab);
  // With one candidate kept the host reference returns the top-ranked id whatever u is.
  if (params.temperature == 0.0f || keep == 1)
    return device_argmax(logits, vocab, scratch, stream);

  const ranking ranked = rank_descending(logits, vocab, scratch, stream);
  const size_t n = static_cast<size_t>(keep);
  auto* host = static_cast<unsigned char*>(scratch.host.ensure(n * (sizeof(float) + sizeof(int32_t))));
  auto* host_keys = reinterpret_cast<float*>(host);
  auto* host_ids = reinterpret_cast<int32_t*>(host + n * sizeof(float));
  ALISA_CUDA_CHECK(cudaMemcpyAsync(host_keys, ranked.keys, n * sizeof(float),
                                   cudaMemcpyDeviceToHost, stream));
  ALISA_CUDA_CHECK(cudaMemcpyAsync(host_ids, ranked.ids, n * sizeof(int32_t),
                                   cudaMemcpyDeviceToHost, stream));
  ALISA_CUDA_CHECK(cudaStreamSynchronize(stream));
  thread_local std::vector<double> probs;
  return pick_from_ranked(std::span<const float>(host_keys, n),
                          std::span<const int32_t>(host_ids, n), params, u, probs);
}

}  // namespace alisa::gpu::cuda
