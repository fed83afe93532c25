#pragma once
// prefix_reuse — moving prompt rows between a job's KV and the prefix cache (prefix_cache.hpp):
//   - prefix_capture: a kv_tap the step loop puts on a job's prompt steps; it copies the rows of
//     the blocks the cache lacks, and publishes them once the job has fed them all;
//   - replay_prefix: writes cached blocks into a fresh job's KV through the same calls the
//     forward pass uses (append_kv into a dense cache, kv_source::write into a tiered sequence),
//     so the job's KV holds exactly what a cold prefill would have written.
// The engine's thread only; pointers handed to the tap are backend memory (downloaded here).
#include <memory>
#include <span>
#include <vector>

#include "engine/prefix_cache.hpp"
#include "gpu/backend.hpp"
#include "gpu/kv_cache.hpp"
#include "gpu/kv_source.hpp"
#include "gpu/kv_tap.hpp"

namespace alisa::engine {

class prefix_capture final : public gpu::kv_tap {
 public:
  // Captures prompt blocks [0, num_blocks) not cached yet.
  prefix_capture(prefix_cache& cache, gpu::backend& be, std::span<const int32_t> prompt,
                 int num_blocks);
  void rows(int layer, int first_position, const float* keys, const float* values,
            const float* hidden, int n) override;
  // Positions that must have been fed before publish().
  int end_position() const { return num_blocks_ * kv_block_tokens; }
  bool empty() const { return blocks_.empty(); }
  // Hands the captured blocks to the cache.
  void publish();

 private:
  prefix_cache& cache_;
  gpu::backend& backend_;
  int num_blocks_;
  std::vector<prefix_block> blocks_;
  std::vector<int> slot_of_block_;  // block index -> index into blocks_, or -1 (cached already)
};

// Appends `blocks` (positions [0, blocks.size() * kv_block_tokens)) to an empty job KV: exactly one
// of cache and source is set. Advances it past them.
void replay_prefix(std::span<const prefix_block_ref> blocks, const prefix_cache_shape& shape,
                   gpu::backend& be, gpu::dense_kv_cache* cache, gpu::kv_source* source);

}  // namespace alisa::engine
