#pragma once
// kv_source — a sequence's KV kept outside a dense_kv_cache: the tiered store of actors/ (device
// pool, host RAM, NVMe, recompute). The forward pass hands it every layer's new rows (and the
// hidden states they were projected from) and asks it for the rows of the positions a step
// attends to. gpu/ defines the interface; actors/ implements it (gpu/ does not know storage/).
//
// One object per sequence, driven by the thread that drives the model_runner.
#include <cstdint>
#include <span>
#include <vector>

namespace alisa::gpu {

class kv_source {
 public:
  virtual ~kv_source() = default;
  virtual int length() const = 0;    // positions stored so far
  virtual int capacity() const = 0;  // the most positions the sequence may reach

  // New rows of `layer` at positions [length(), length() + n): keys and values fp32 [n][kv_dim]
  // (RoPE applied), hidden fp32 [n][hidden_size] — the normalised layer input the K/V were
  // projected from, which recomputation starts from. All in backend memory.
  virtual void write(int layer, const float* keys, const float* values, const float* hidden,
                     int n) = 0;

  // Fills keys/values + i*kv_dim (backend memory, fp32) with the rows of positions[i]: ascending
  // positions below length() + the rows written by this step's write(). Rows it does not hold
  // (dropped, or lost to a failed load) are left for the caller: their indices into `positions`
  // go to `recompute` (cleared first, ascending), and their hidden rows to
  // recompute_hidden + j*hidden_size (backend memory, room for positions.size() rows) for the
  // j-th entry of `recompute`.
  virtual void gather(int layer, std::span<const int32_t> positions, float* keys, float* values,
                      std::vector<int32_t>& recompute, float* recompute_hidden) = 0;

  // Called once the step's rows of every layer are written.
  virtual void advance(int n) = 0;
};

}  // namespace alisa::gpu
