#include "gpu/attention_benchmark.hpp"

#include <algorithm>
#include <cmath>
#include <chrono>
#include <random>
#include <stdexcept>
#include <string>

#include "gpu/kv_cache.hpp"

namespace alisa::gpu {
namespace {

using clock_type = std::chrono::steady_clock;

// Backend memory holding `count` uniform floats in [-1, 1].
class random_buffer {
 public:
  random_buffer(backend& be, size_t count, std::mt19937& rng) : be_(be) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> host(count);
    for (auto& x : host) x = u(rng);
    data_ = static_cast<float*>(be.allocate(count * sizeof(float)));
    be.upload(data_, host.data(), count * sizeof(float));
  }
  ~random_buffer() { be_.release(data_); }
  random_buffer(const random_buffer&) = delete;
  random_buffer& operator=(const random_buffer&) = delete;
  float* get() const { return data_; }

 private:
  backend& be_;
  float* data_ = nullptr;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

template <typename F>
double time_ms(backend& be, const F& f) {
  be.synchronize();
  const auto start = clock_type::now();
  f();
  be.synchronize();
  return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

void check(const attention_bench_options& o) {
  if (o.num_heads < 1 || o.num_kv_heads < 1 || o.num_heads % o.num_kv_heads != 0)
    throw std::invalid_argument("--heads must be a positive multiple of --kv-heads");
  if (o.head_dim < 1) throw std::invalid_argument("--head-dim must be >= 1");
  if (o.rounds < 1) throw std::invalid_argument("--rounds must be >= 1");
  if (o.mass_rows < 0 || o.mass_rows > o.rows)
    throw std::invalid_argument("--mass-rows must be in [0, --rows]");
  for (int c : o.contexts)
    if (o.rows < 1 || o.rows > c)
      throw std::invalid_argument("--rows " + std::to_string(o.rows) + " must be in [1, context " +
                                  std::to_string(c) + "]");
}

// The matrix kernel's rate on an FFN-shaped weight ([4·hidden][hidden], fp32) for `rows` rows.
double matrix_gflops(backend& be, int rows, int hidden, std::mt19937& rng) {
  const int64_t out = 4 * int64_t{hidden};
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> w(static_cast<size_t>(out * hidden));
  for (auto& x : w) x = u(rng);
  model::tensor_view view{dtype::f32, {out, hidden}, w.data()};
  const weight_matrix m = be.upload_matrix(view, {}, dtype::f32);
  random_buffer x(be, static_cast<size_t>(rows) * hidden, rng);
  random_buffer y(be, static_cast<size_t>(rows) * out, rng);
  be.linear(x.get(), rows, m, y.get());  // warm-up
  const double ms = time_ms(be, [&] { be.linear(x.get(), rows, m, y.get()); });
  return 2.0 * rows * static_cast<double>(out) * hidden / ms / 1e6;
}

}  // namespace

std::vector<attention_bench_point> run_attention_benchmark(backend& be,
                                                           const attention_bench_options& o) {
  check(o);
  std::mt19937 rng(7);
  const attention_shape shape{o.num_heads, o.num_kv_heads, o.head_dim,
                              1.0f / std::sqrt(static_cast<float>(o.head_dim))};
  const int kv_dim = o.num_kv_heads * o.head_dim;
  const int q_dim = o.num_heads * o.head_dim;
  std::vector<attention_bench_point> points;
  for (int context : o.contexts) {
    dense_kv_cache cache(be, 1, kv_dim, context, o.kv);
    for (int at = 0; at < context; at += 4096) {  // filled in pieces: bounded host memory
      const int n = std::min(4096, context - at);
      random_buffer k(be, static_cast<size_t>(n) * kv_dim, rng), v(be, static_cast<size_t>(n) * kv_dim, rng);
      be.append_kv(cache.keys(0), at, k.get(), n);
      be.append_kv(cache.values(0), at, v.get(), n);
    }
    random_buffer q(be, static_cast<size_t>(o.rows) * q_dim, rng);
    random_buffer out(be, static_cast<size_t>(o.rows) * q_dim, rng);
    random_buffer mass(be, o.mass_rows > 0 ? static_cast<size_t>(o.num_kv_heads) * context : 1, rng);
    const int past = context - o.rows;

    attention_item chunk;
    chunk.q = q.get();
    chunk.keys = cache.keys(0);
    chunk.values = cache.values(0);
    chunk.out = out.get();
    chunk.num_rows = o.rows;
    chunk.past_len = past;
    if (o.mass_rows > 0) {
      chunk.mass = mass.get();
      chunk.mass_rows = {o.mass_rows, true};
    }
    std::vector<attention_item> singles(static_cast<size_t>(o.rows), chunk);
    for (int r = 0; r < o.rows; ++r) {
      auto& s = singles[static_cast<size_t>(r)];
      s.q = q.get() + static_cast<size_t>(r) * q_dim;
      s.out = out.get() + static_cast<size_t>(r) * q_dim;
      s.num_rows = 1;
      s.past_len = past + r;
      // Only the last mass_rows rows report mass; single rows report theirs one by one.
      s.mass = nullptr;
      s.mass_rows = {};
    }

    attention_bench_point p;
    p.context = context;
    for (int r = 0; r < o.rows; ++r) p.flops += 4.0 * o.head_dim * (past + r + 1) * o.num_heads;
    be.attention(std::span(&chunk, 1), shape);  // warm-up: scratch buffers, page faults
    std::vector<double> op, per_row;
    for (int round = 0; round < o.rounds; ++round) {
      op.push_back(time_ms(be, [&] { be.attention(std::span(&chunk, 1), shape); }));
      if (o.per_row) per_row.push_back(time_ms(be, [&] { be.attention(singles, shape); }));
    }
    p.op_ms = median(op);
    p.per_row_ms = median(per_row);
    p.matrix_gflops = matrix_gflops(be, o.rows, q_dim, rng);
    points.push_back(p);
  }
  return points;
}

}  // namespace alisa::gpu
