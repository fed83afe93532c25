#pragma once
// backend — the compute interface the forward pass is written against. The CPU backend
// (gpu/cpu/) is always built and is the reference; the CUDA backend implements the same ops later.
//
// Memory model: every `float*` / `void*` an op takes lives in the backend's address space (host
// memory for the CPU backend, device memory for CUDA) and comes from allocate()/upload_*().
// Arguments documented as "host" are plain host arrays. Matrices are row-major.
// Ops may run asynchronously; synchronize() waits for all of them (download() does too).
// Thread affinity: one backend is driven by one thread at a time (it parallelises internally).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "model/model_config.hpp"
#include "model/tensor.hpp"
#include "proto/dtype.hpp"
#include "proto/kv_dtype.hpp"
#include "proto/sampling_params.hpp"
#include "proto/token_set.hpp"

namespace alisa::gpu {

enum class backend_kind { cpu, cuda, automatic };  // automatic: make_auto_backend()

// Whether this binary was built with the CUDA backend (nvcc found at configure time).
bool cuda_backend_built();

// A linear layer as the backend keeps it: weight [rows=out_features, cols=in_features] stored in
// `type`, optional fp32 bias of length rows. Owned by the backend that made it.
struct weight_matrix {
  dtype type = dtype::f32;
  int64_t rows = 0;
  int64_t cols = 0;
  const void* data = nullptr;
  const float* bias = nullptr;  // nullptr = no bias
  // Bytes the weights take (q8_0: whole blocks per row, scales included).
  size_t num_bytes() const { return static_cast<size_t>(rows) * dtype_row_bytes(type, cols); }
};

// One layer's keys (or values) as a KV cache stores them, in backend memory; row = position,
// kv_dim = num_kv_heads * head_dim floats wide once converted.
// - f32 / f16 / bf16: data is [capacity][kv_dim] of that type.
// - i8: the positions of complete chunks (kv_chunk_tokens each) are uint8 codes in data
//   [capacity][kv_dim]; chunk c has per-channel `minimum` and `scale` rows at
//   [c][kv_dim] (x = minimum + scale * code). The chunk still being filled is kept exactly, as fp32
//   rows in `staging` [kv_chunk_tokens][kv_dim], and is quantised when its last row arrives.
struct kv_rows {
  kv_dtype type = kv_dtype::f32;
  void* data = nullptr;
  float* minimum = nullptr;  // i8 only: [capacity / kv_chunk_tokens (rounded up)][kv_dim]
  float* scale = nullptr;    // i8 only: same shape
  float* staging = nullptr;  // i8 only: [kv_chunk_tokens][kv_dim]
  int kv_dim = 0;
};

// One sequence's share of a batched attention call. The KV rows hold positions
// [0, past_len + num_rows) for this layer, already including the num_rows new tokens; query row i
// sits at position past_len + i. Query head h reads kv head h / (num_heads / num_kv_heads) (GQA).
//
// Which positions a row attends to:
// - tokens == nullptr or tokens->dense: causal, row i sees [0, past_len + i];
// - sparse (requires num_rows == 1): exactly the positions of tokens->list(...) (one shared list,
//   or one list per kv head), gathered from the KV rows. With every position listed this equals the
//   dense result bit for bit (the dense path is the same kernel over the identity list).
//
// Attention mass (the signal selection policies score with): when `mass` is set, the op writes the
// softmax probabilities of the last mass_rows.num_rows rows, summed over the query heads that
// share a kv head, into `mass` (backend memory) with the layout of proto attention_mass::values:
// [rows][num_kv_heads][num_cols], num_cols = list_size (sparse) or past_len + num_rows (dense,
// zeros beyond each row's causal limit); with mass_rows.sum_rows the rows are added into one.
struct attention_item {
  const float* q = nullptr;  // [num_rows, num_heads*head_dim]
  kv_rows keys;
  kv_rows values;
  float* out = nullptr;      // [num_rows, num_heads*head_dim]
  int num_rows = 0;
  int past_len = 0;
  const token_set* tokens = nullptr;  // host; see above
  float* mass = nullptr;              // backend memory, sized as above; nullptr = not wanted
  mass_request mass_rows;
};

struct attention_shape {
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  float scale = 0.0f;  // usually 1/sqrt(head_dim)
};

class backend {
 public:
  virtual ~backend() = default;
  virtual std::string name() const = 0;  // e.g. "cpu(avx2, 2 threads)"
  // Whether ops return before their results exist (CUDA: queued on a stream). Callers that time
  // ops from the host measure only queueing on such a backend.
  virtual bool asynchronous() const { return false; }
  virtual int num_threads() const = 0;
  // Whether upload_matrix() accepts `type` as the storage type (block-quantised types need
  // kernels of their own).
  virtual bool stores_weights_as(dtype type) const { return !is_block_quantised(type); }

  // --- memory ---------------------------------------------------------------------------------
  virtual void* allocate(size_t bytes) = 0;  // zero-initialised, 64-byte aligned
  virtual void release(void* ptr) = 0;
  virtual void upload(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void download(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;  // backend -> backend
  // Staged upload for rows fetched from host tiers: queued on a copy path that overlaps compute
  // (CUDA: pinned staging + a copy stream). host_src may be reused as soon as the call returns;
  // the bytes are visible to ops issued after the next commit_uploads() (download() and
  // synchronize() commit too). Backends without a copy path upload at once.
  virtual void upload_async(void* dst, const void* host_src, size_t bytes) {
    upload(dst, host_src, bytes);
  }
  virtual void commit_uploads() {}
  // Copies a host tensor of any dtype into backend memory converted to `type` (+ fp32 bias).
  virtual weight_matrix upload_matrix(const model::tensor_view& weight,
                                      const model::tensor_view& bias, dtype type) = 0;
  // Copies a host vector (any dtype) into backend memory as fp32; nullptr when absent.
  virtual const float* upload_vector(const model::tensor_view& v) = 0;

  // --- ops (n = number of token rows) -------------------------------------------------------------
  // out[i] = table row tokens[i] (converted to fp32). tokens: host.
  virtual void embed(const int32_t* tokens, int n, const weight_matrix& table, float* out) = 0;
  // Element-wise ops and norms accept y == x (in place); linear and attention do not alias.
  // y[n, w.rows] = x[n, w.cols] · wᵀ (+ bias). Streams w once for all n rows.
  virtual void linear(const float* x, int n, const weight_matrix& w, float* y) = 0;
  // As linear(), but each y row is bit-identical whatever n is (the K/V projections, so K/V
  // recomputed later from stored hidden states equal the originals exactly). Backends whose
  // linear() already has that property need not override it.
  virtual void linear_row_exact(const float* x, int n, const weight_matrix& w, float* y) {
    linear(x, n, w, y);
  }
  virtual void rms_norm(const float* x, int n, int dim, const float* gain, float eps, float* y) = 0;
  virtual void layer_norm(const float* x, int n, int dim, const float* gain, const float* bias,
                          float eps, float* y) = 0;
  // Rotates each head of x[n, num_heads*head_dim] in place by its row's position. positions: host.
  virtual void rope(float* x, int n, int num_heads, int head_dim, const int32_t* positions,
                    float theta, model::rope_layout layout) = 0;
  virtual void silu_mul(const float* gate, const float* up, int64_t count, float* y) = 0;  // silu(g)*u
  virtual void relu(float* x, int64_t count) = 0;
  virtual void add(float* x, const float* y, int64_t count) = 0;  // x += y
  // Appends n fp32 rows [n, dst.kv_dim] at positions [length, length + n) of a KV cache layer,
  // converting to dst.type (i8: into the staging chunk, quantising each chunk as it completes).
  // Positions below `length` are never rewritten.
  virtual void append_kv(const kv_rows& dst, int length, const float* rows, int n) = 0;
  // out[i] = fp32 value of row offsets[i] of src (converted / dequantised; i8 rows of the chunk
  // still being filled come from staging when `staged` is true). offsets: host, each in
  // [0, capacity of src). Used to gather a step's selected rows out of device KV blocks.
  virtual void gather_kv(const kv_rows& src, const int32_t* offsets, int n, bool staged,
                         float* out) = 0;
  // Batched attention: one item per sequence (items: host array); see attention_item.
  // Throws std::invalid_argument on a malformed item (sparse with several rows, a position outside
  // [0, past_len + num_rows), lists not ascending, num_lists neither 1 nor num_kv_heads).
  virtual void attention(std::span<const attention_item> items, const attention_shape& shape) = 0;
  virtual void synchronize() = 0;

  // --- selection (results to the host) -----------------------------------------------------------
  // The backend implementation downloads and runs the host reference (gpu/selection_reference.hpp);
  // the CUDA backend selects on the device and returns only the answer.
  // Indices of the k largest of scores[0, count) (backend memory; ties: lower index first), in
  // ascending index order, into the host array out_indices[k]. Throws std::invalid_argument unless
  // 0 < k <= count.
  virtual void top_k(const float* scores, int count, int k, int32_t* out_indices);
  // The token sampling `params` pick from logits[0, vocab) (backend memory) for the uniform draw
  // u in [0, 1): greedy (lowest id among ties) when temperature == 0, otherwise the top_k /
  // top_p filtered softmax(logits / temperature) inverted at u (gpu/sampler.hpp draws u).
  virtual int32_t sample_token(const float* logits, int vocab, const sampling_params& params,
                               double u);

  // --- measurement ------------------------------------------------------------------------------
  // Median GB/s (1e9 bytes/s) of a multi-threaded streaming read of `bytes` of this backend's
  // memory: the roofline that memory-bound decode is compared against. 0 when not measurable.
  virtual double measure_read_bandwidth_gbs(size_t bytes, int repetitions) {
    (void)bytes;
    (void)repetitions;
    return 0.0;
  }
};

// Creates a backend. `num_threads` <= 0 means "all hardware threads" (CPU backend).
// Throws std::runtime_error when the kind is not built or not usable on this machine (the message
// says which: "CUDA backend not built in this binary", "no usable CUDA driver/device: ...").
std::unique_ptr<backend> make_backend(backend_kind kind, int num_threads);

// --backend auto: the CUDA backend when it is built and a device is usable, else the CPU backend.
// `why` receives one line for the log saying which was chosen and, for CPU, why not CUDA.
std::unique_ptr<backend> make_auto_backend(int num_threads, std::string& why);

}  // namespace alisa::gpu
