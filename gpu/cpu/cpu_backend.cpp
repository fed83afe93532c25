#include "gpu/cpu/cpu_backend.hpp"

#include "gpu/kv_cache.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "gpu/cpu/convert.hpp"
#include "gpu/cpu/kernels.hpp"
#include "gpu/cpu/kv_codec.hpp"
#include "gpu/cpu/memory_bandwidth.hpp"
#include "gpu/cpu/q8_kernels.hpp"

namespace alisa::gpu::cpu {
namespace {

constexpr size_t kAlignment = 64;
constexpr size_t kHugePage = size_t{2} << 20;
constexpr int64_t kParallelElements = int64_t{1} << 15;
constexpr int64_t kElementGrain = 1024;  // 4 KiB chunks: cache-line (and page) aligned edges

}  // namespace

void cpu_backend::free_deleter::operator()(float* p) const { std::free(p); }

cpu_backend::cpu_backend(int num_threads) : pool_(num_threads) {
  scratch_.resize(static_cast<size_t>(pool_.num_threads()));
}

cpu_backend::~cpu_backend() {
  for (auto& [ptr, bytes] : allocations_) std::free(ptr);
}

std::string cpu_backend::name() const {
  return "cpu(" + simd_target_name() + ", " + std::to_string(pool_.num_threads()) +
         (pool_.num_threads() == 1 ? " thread)" : " threads)");
}

// --- memory ------------------------------------------------------------------------------------

void* cpu_backend::allocate(size_t bytes) {
  const size_t size = std::max<size_t>((bytes + kAlignment - 1) / kAlignment * kAlignment, kAlignment);
  // Big buffers (weights, KV cache) start on a huge-page boundary so THP can back them.
  const size_t alignment = size >= kHugePage ? kHugePage : kAlignment;
  const size_t rounded = (size + alignment - 1) / alignment * alignment;
  void* ptr = std::aligned_alloc(alignment, rounded);
  if (!ptr) throw std::bad_alloc();
  if (alignment == kHugePage) madvise(ptr, rounded, MADV_HUGEPAGE);
  std::memset(ptr, 0, rounded);
  std::lock_guard lock(mutex_);
  allocations_.emplace(ptr, rounded);
  return ptr;
}

void cpu_backend::release(void* ptr) {
  if (!ptr) return;
  {
    std::lock_guard lock(mutex_);
    if (allocations_.erase(ptr) == 0)
      throw std::invalid_argument("cpu_backend::release: pointer was not allocated by this backend");
  }
  std::free(ptr);
}

void cpu_backend::upload(void* dst, const void* host_src, size_t bytes) {
  std::memcpy(dst, host_src, bytes);
}
void cpu_backend::download(void* host_dst, const void* src, size_t bytes) {
  std::memcpy(host_dst, src, bytes);
}
void cpu_backend::copy(void* dst, const void* src, size_t bytes) { std::memmove(dst, src, bytes); }

float* cpu_backend::grow(scratch_buffer& buf, size_t floats) {
  if (buf.floats < floats) {
    const size_t bytes = (floats * sizeof(float) + kAlignment - 1) / kAlignment * kAlignment;
    buf.data.reset(static_cast<float*>(std::aligned_alloc(kAlignment, bytes)));
    if (!buf.data) {
      buf.floats = 0;
      throw std::bad_alloc();
    }
    buf.floats = floats;
  }
  return buf.data.get();
}

float* cpu_backend::scratch(int thread, size_t floats) {
  return grow(scratch_[static_cast<size_t>(thread)], floats);
}

float* cpu_backend::shared_scratch(size_t floats) { return grow(shared_scratch_, floats); }

// Converts src (any dtype) into dst of `type`, parallel over element chunks.
void cpu_backend::convert_into(const model::tensor_view& src, void* dst, dtype type) {
  if (src.type == dtype::q8_0) return dequantise_into(src, dst, type);
  const int64_t count = src.num_elements();
  const size_t in_size = dtype_size(src.type), out_size = dtype_size(type);
  constexpr int64_t kBlock = 4096;  // elements widened to fp32 at a time
  auto body = [&](int64_t begin, int64_t end, int thread) {
    const auto* in = static_cast<const char*>(src.data);
    auto* out = static_cast<char*>(dst);
    if (src.type == type) {
      std::memcpy(out + begin * out_size, in + begin * in_size, static_cast<size_t>(end - begin) * out_size);
      return;
    }
    if (type == dtype::f32) {
      kernels::convert_to_f32(in + begin * in_size, src.type, end - begin,
                              reinterpret_cast<float*>(out) + begin);
      return;
    }
    float* tmp = scratch(thread, kBlock);
    auto* out16 = reinterpret_cast<uint16_t*>(out);
    for (int64_t b = begin; b < end; b += kBlock) {
      const int64_t len = std::min(kBlock, end - b);
      kernels::convert_to_f32(in + b * in_size, src.type, len, tmp);
      if (type == dtype::bf16)
        for (int64_t i = 0; i < len; ++i) out16[b + i] = f32_to_bf16(tmp[i]);
      else
        for (int64_t i = 0; i < len; ++i) out16[b + i] = f32_to_f16(tmp[i]);
    }
  };
  if (count < kParallelElements)
    body(0, count, 0);
  else
    pool_.parallel_for(0, count, body, kElementGrain * 16);
}

// Row-major GGUF Q8_0 blocks into `type` (f32, bf16 or f16), parallel over runs of blocks.
void cpu_backend::dequantise_into(const model::tensor_view& src, void* dst, dtype type) {
  const int64_t blocks = src.num_elements() / kQ8Block;
  constexpr int64_t kBlocksPerChunk = 128;  // 4096 elements widened to fp32 at a time
  pool_.parallel_for(0, blocks, [&](int64_t begin, int64_t end, int thread) {
    const auto* in = static_cast<const char*>(src.data);
    for (int64_t b = begin; b < end; b += kBlocksPerChunk) {
      const int64_t len = std::min(kBlocksPerChunk, end - b);
      float* out = type == dtype::f32 ? static_cast<float*>(dst) + b * kQ8Block
                                      : scratch(thread, static_cast<size_t>(kBlocksPerChunk * kQ8Block));
      kernels::dequantise_q8_0(in + static_cast<size_t>(b) * kQ8BlockBytes, len, out);
      if (type == dtype::f32) continue;
      auto* out16 = static_cast<uint16_t*>(dst) + b * kQ8Block;
      for (int64_t i = 0; i < len * kQ8Block; ++i)
        out16[i] = type == dtype::bf16 ? f32_to_bf16(out[i]) : f32_to_f16(out[i]);
    }
  }, 64);
}

// q8_0 panels (q8_kernels.hpp): Q8_0 blocks of a GGUF file are moved as they are; any other
// source is converted to fp32 rows and quantised one panel at a time.
weight_matrix cpu_backend::upload_q8_matrix(const model::tensor_view& weight) {
  weight_matrix w;
  w.type = dtype::q8_0;
  w.rows = weight.rows();
  w.cols = weight.cols();
  const int64_t panels = (w.rows + kernels::kPanelRows - 1) / kernels::kPanelRows;
  void* data = allocate(static_cast<size_t>(panels) * kernels::q8_panel_bytes(w.cols));
  if (weight.type == dtype::q8_0) {
    if (w.cols % kQ8Block != 0)  // a row-major q8_0 tensor's rows are whole blocks
      throw std::invalid_argument("upload_matrix: a q8_0 tensor with " + std::to_string(w.cols) +
                                  " columns (not whole 32-element blocks)");
    pool_.parallel_for(0, panels, [&](int64_t begin, int64_t end, int) {
      for (int64_t p = begin; p < end; ++p)
        kernels::repack_panel_q8_0(weight.data, w.rows, w.cols, p, data);
    });
  } else {
    auto* rows = static_cast<float*>(allocate(static_cast<size_t>(w.rows * w.cols) * sizeof(float)));
    convert_into(weight, rows, dtype::f32);
    pool_.parallel_for(0, panels, [&](int64_t begin, int64_t end, int) {
      for (int64_t p = begin; p < end; ++p) kernels::quantise_panel_q8_0(rows, w.rows, w.cols, p, data);
    });
    release(rows);
  }
  w.data = data;
  return w;
}

weight_matrix cpu_backend::upload_matrix(const model::tensor_view& weight,
                                         const model::tensor_view& bias, dtype type) {
  if (!weight.present()) throw std::invalid_argument("upload_matrix: weight tensor is absent");
  if (type == dtype::q8_0) {
    weight_matrix w = upload_q8_matrix(weight);
    attach_bias(w, bias);
    return w;
  }
  weight_matrix w;
  w.type = type;
  w.rows = weight.rows();
  w.cols = weight.cols();
  // Convert row-major into a temporary, then interleave into panels (kernels::kPanelRows).
  const int64_t panels = (w.rows + kernels::kPanelRows - 1) / kernels::kPanelRows;
  const size_t elem = dtype_size(type);
  void* rowmajor = allocate(w.num_bytes());
  convert_into(weight, rowmajor, type);
  void* data = allocate(static_cast<size_t>(panels * kernels::kPanelRows * w.cols) * elem);
  const int64_t rows = w.rows, cols = w.cols;
  pool_.parallel_for(0, panels, [&](int64_t begin, int64_t end, int) {
    const auto* src = static_cast<const char*>(rowmajor);
    auto* dst = static_cast<char*>(data);
    for (int64_t p = begin; p < end; ++p) {
      const int64_t r0 = p * kernels::kPanelRows;
      const int64_t valid = std::min(kernels::kPanelRows, rows - r0);
      char* panel = dst + static_cast<size_t>(r0 * cols) * elem;
      for (int64_t c = 0; c < cols; ++c)
        for (int64_t r = 0; r < valid; ++r)
          std::memcpy(panel + static_cast<size_t>(c * kernels::kPanelRows + r) * elem,
                      src + static_cast<size_t>((r0 + r) * cols + c) * elem, elem);
    }
  });
  release(rowmajor);
  w.data = data;
  attach_bias(w, bias);
  return w;
}

void cpu_backend::attach_bias(weight_matrix& w, const model::tensor_view& bias) {
  if (!bias.present()) return;
  if (bias.num_elements() != w.rows)
    throw std::invalid_argument("upload_matrix: bias length " + std::to_string(bias.num_elements()) +
                                " != rows " + std::to_string(w.rows));
  w.bias = upload_vector(bias);
}

const float* cpu_backend::upload_vector(const model::tensor_view& v) {
  if (!v.present()) return nullptr;
  auto* data = static_cast<float*>(allocate(static_cast<size_t>(v.num_elements()) * sizeof(float)));
  convert_into(v, data, dtype::f32);
  return data;
}

// --- ops ---------------------------------------------------------------------------------------

// Rows of the packed layout are strided (kPanelRows elements apart): gathered element by element.
// A few rows per step, so this is negligible next to linear().
void cpu_backend::embed(const int32_t* tokens, int n, const weight_matrix& table, float* out) {
  const size_t elem = dtype_size(table.type);
  const int64_t cols = table.cols;
  for (int i = 0; i < n; ++i) {
    if (tokens[i] < 0 || tokens[i] >= table.rows)
      throw std::out_of_range("embed: token " + std::to_string(tokens[i]) + " outside [0, " +
                              std::to_string(table.rows) + ")");
    const int64_t t = tokens[i];
    float* o = out + static_cast<int64_t>(i) * cols;
    if (table.type == dtype::q8_0) {
      kernels::gather_row_q8_0(table.data, cols, t, o);
      continue;
    }
    const auto* base = static_cast<const char*>(table.data) +
                       static_cast<size_t>((t - t % kernels::kPanelRows) * cols + t % kernels::kPanelRows) * elem;
    const size_t stride = static_cast<size_t>(kernels::kPanelRows) * elem;
    switch (table.type) {
      case dtype::f32:
        for (int64_t c = 0; c < cols; ++c) std::memcpy(&o[c], base + c * stride, 4);
        break;
      case dtype::bf16:
      case dtype::f16:
        for (int64_t c = 0; c < cols; ++c) {
          uint16_t bits;
          std::memcpy(&bits, base + c * stride, 2);
          o[c] = table.type == dtype::bf16 ? bf16_to_f32(bits) : f16_to_f32(bits);
        }
        break;
      case dtype::q8_0:  // gathered above
        break;
    }
  }
}

void cpu_backend::linear(const float* x, int n, const weight_matrix& w, float* y) {
  run_linear(x, n, w, y, false);
}

// Panels are split across threads, never the reduction over columns, so the row-exact variant
// stays exact under threading.
void cpu_backend::linear_row_exact(const float* x, int n, const weight_matrix& w, float* y) {
  run_linear(x, n, w, y, true);
}

void cpu_backend::run_linear(const float* x, int n, const weight_matrix& w, float* y,
                             bool row_exact) {
  if (n <= 0 || w.rows == 0) return;
  const int64_t panels = (w.rows + kernels::kPanelRows - 1) / kernels::kPanelRows;
  // 16-bit and q8_0 panels are widened to fp32 when several x blocks reuse them.
  const bool widen = w.type != dtype::f32 && n > 6;
  pool_.parallel_for(0, panels, [&](int64_t begin, int64_t end, int thread) {
    float* buf = widen ? scratch(thread, static_cast<size_t>(kernels::kPanelRows * w.cols)) : nullptr;
    kernels::linear_packed(x, n, w.data, w.type, w.rows, w.cols, w.bias, begin, end, y, w.rows, buf,
                           row_exact);
  });
}

void cpu_backend::rms_norm(const float* x, int n, int dim, const float* gain, float eps, float* y) {
  auto body = [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) kernels::rms_norm_row(x + i * dim, dim, gain, eps, y + i * dim);
  };
  if (int64_t{n} * dim < kParallelElements)
    body(0, n, 0);
  else
    pool_.parallel_for(0, n, body);
}

void cpu_backend::layer_norm(const float* x, int n, int dim, const float* gain, const float* bias,
                             float eps, float* y) {
  auto body = [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i)
      kernels::layer_norm_row(x + i * dim, dim, gain, bias, eps, y + i * dim);
  };
  if (int64_t{n} * dim < kParallelElements)
    body(0, n, 0);
  else
    pool_.parallel_for(0, n, body);
}

void cpu_backend::rope(float* x, int n, int num_heads, int head_dim, const int32_t* positions,
                       float theta, model::rope_layout layout) {
  if (layout == model::rope_layout::none || n <= 0) return;
  if (head_dim % 2 != 0) throw std::invalid_argument("rope: head_dim must be even");
  const int half = head_dim / 2;
  // Frequencies in double: theta^(-2i/d) loses digits in float for the slow pairs.
  std::vector<double> inv_freq(static_cast<size_t>(half));
  for (int i = 0; i < half; ++i)
    inv_freq[static_cast<size_t>(i)] = std::pow(static_cast<double>(theta), -2.0 * i / head_dim);
  const bool interleaved = layout == model::rope_layout::interleaved;
  auto body = [&](int64_t begin, int64_t end, int thread) {
    float* cs = scratch(thread, static_cast<size_t>(head_dim));  // cos[half] then sin[half]
    for (int64_t row = begin; row < end; ++row) {
      const double pos = positions[row];
      for (int i = 0; i < half; ++i) {
        const double angle = pos * inv_freq[static_cast<size_t>(i)];
        cs[i] = static_cast<float>(std::cos(angle));
        cs[half + i] = static_cast<float>(std::sin(angle));
      }
      float* xr = x + row * static_cast<int64_t>(num_heads) * head_dim;
      for (int h = 0; h < num_heads; ++h) {
        float* v = xr + static_cast<int64_t>(h) * head_dim;
        for (int i = 0; i < half; ++i) {
          float& a = interleaved ? v[2 * i] : v[i];
          float& b = interleaved ? v[2 * i + 1] : v[i + half];
          const float c = cs[i], s = cs[half + i];
          const float a0 = a, b0 = b;
          a = a0 * c - b0 * s;
          b = a0 * s + b0 * c;
        }
      }
    }
  };
  if (int64_t{n} * num_heads * head_dim < kParallelElements)
    body(0, n, 0);
  else
    pool_.parallel_for(0, n, body);
}

void cpu_backend::silu_mul(const float* gate, const float* up, int64_t count, float* y) {
  if (count < kParallelElements) return kernels::silu_mul(gate, up, count, y);
  pool_.parallel_for(0, count, [&](int64_t b, int64_t e, int) {
    kernels::silu_mul(gate + b, up + b, e - b, y + b);
  }, kElementGrain);
}

void cpu_backend::relu(float* x, int64_t count) {
  if (count < kParallelElements) return kernels::relu(x, count);
  pool_.parallel_for(0, count, [&](int64_t b, int64_t e, int) { kernels::relu(x + b, e - b); },
                     kElementGrain);
}

void cpu_backend::add(float* x, const float* y, int64_t count) {
  if (count < kParallelElements) return kernels::add(x, y, count);
  pool_.parallel_for(0, count, [&](int64_t b, int64_t e, int) { kernels::add(x + b, y + b, e - b); },
                     kElementGrain);
}

void cpu_backend::append_kv(const kv_rows& dst, int length, const float* rows, int n) {
  if (n <= 0) return;
  check_append_target(dst, length);
  const int64_t dim = dst.kv_dim;
  // i8 goes row by row through the staging chunk; the other types split by rows when large.
  if (dst.type == kv_dtype::i8 || int64_t{n} * dim < kParallelElements) {
    kv_codec::append_rows(dst, length, rows, n);
    return;
  }
  pool_.parallel_for(0, n, [&](int64_t b, int64_t e, int) {
    kv_codec::append_rows(dst, length + b, rows + b * dim, e - b);
  });
}

void cpu_backend::gather_kv(const kv_rows& src, const int32_t* offsets, int n, bool staged,
                            float* out) {
  if (n <= 0) return;
  check_gather_source(src);
  kv_codec::gather_rows(src, offsets, n, staged, out);
}

// Same threads as the ops, so the probe and the decode it is compared with share the machine state.
double cpu_backend::measure_read_bandwidth_gbs(size_t bytes, int repetitions) {
  return cpu::measure_read_bandwidth_gbs(pool_, bytes, repetitions);
}

}  // namespace alisa::gpu::cpu
