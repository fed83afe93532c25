#include "engine/rate_probe.hpp"

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "storage/store_rates.hpp"

namespace alisa::engine {
namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// Tokens per second of the K and V projections of one layer (two [kv_dim x hidden] matrices in the
// weight dtype) over a block of rows: what recomputing dropped rows costs.
double measure_recompute_rate(gpu::backend& be, const model::model_config& c, dtype weight_type) {
  const int rows = kv_block_tokens;
  std::vector<float> weights(static_cast<size_t>(c.kv_dim()) * c.hidden_size);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-0.05f, 0.05f);
  for (auto& w : weights) w = dist(rng);
  const model::tensor_view view{dtype::f32, {c.kv_dim(), c.hidden_size}, weights.data()};
  const gpu::weight_matrix w = be.upload_matrix(view, model::tensor_view{}, weight_type);
  auto* x = static_cast<float*>(be.allocate(size_t(rows) * c.hidden_size * sizeof(float)));
  auto* y = static_cast<float*>(be.allocate(size_t(rows) * c.kv_dim() * sizeof(float)));
  std::vector<double> samples;
  for (int r = 0; r < 7; ++r) {
    const auto start = clock_type::now();
    be.linear_row_exact(x, rows, w, y);  // K
    be.linear_row_exact(x, rows, w, y);  // V
    be.synchronize();
    samples.push_back(rows / std::max(seconds_since(start), 1e-9));
  }
  be.release(x);
  be.release(y);
  be.release(const_cast<void*>(w.data));
  return median(samples);
}

// GB/s of copying `bytes` host -> device and back (pageable host memory).
std::pair<double, double> measure_copy_gbs(gpu::backend& be, size_t bytes) {
  std::vector<char> host(bytes, 1);
  void* dev = be.allocate(bytes);
  std::vector<double> up, down;
  for (int r = 0; r < 5; ++r) {
    auto start = clock_type::now();
    be.upload(dev, host.data(), bytes);
    be.synchronize();
    up.push_back(bytes / std::max(seconds_since(start), 1e-9) / 1e9);
    start = clock_type::now();
    be.download(host.data(), dev, bytes);
    down.push_back(bytes / std::max(seconds_since(start), 1e-9) / 1e9);
  }
  be.release(dev);
  return {median(up), median(down)};
}

}  // namespace

scheduler::measured_rates measure_rates(gpu::backend& be, const model::model_config& config,
                                        dtype weight_type, storage::block_store* nvme,
                                        size_t block_bytes) {
  scheduler::measured_rates r;
  r.recompute_tokens_per_s = measure_recompute_rate(be, config, weight_type);
  const auto [up, down] = measure_copy_gbs(be, size_t{16} << 20);
  r.host_to_device_gbs = up;
  r.device_to_host_gbs = down;
  if (nvme) {
    const storage::store_rates s = storage::measure_store_rates(*nvme, block_bytes, 24);
    r.nvme_read_gbs = s.read_gbs;
    r.nvme_write_gbs = s.write_gbs;
    r.nvme_read_latency_s = s.read_latency_us * 1e-6;
  }
  return r;
}

}  // namespace alisa::engine
