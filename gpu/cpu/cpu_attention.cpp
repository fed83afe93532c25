// cpu_backend::attention — validation (shared: gpu/attention_validation.hpp), then multi-row dense
// items go to the tiled kernel (cpu_tiled_attention.cpp) and every other row to the per-row
// kernel: work split and threading around attention_kernels below.
//
// Work rows are (item, query row, kv head) triples; each covers the `group` query heads of its kv
// head, so K/V rows are read once per group. A row's list (identity for dense) is cut into blocks
// (attn::kBlockTokens) whose softmax partials are merged in block order. Two schedules, chosen by
// the amount of work only, with identical arithmetic (so identical bits):
// - many work rows (prefill, big batches): one task per work row, round-robin over threads
//   (causal rows grow with position, so contiguous chunks would load the last thread most);
// - few work rows (decode of a few sequences): tasks of kBlocksPerTask blocks of one row write
//   their partials to a shared buffer; whichever task completes a row last merges it.
// Attention mass: each work row writes its own mass row (race-free); with sum_rows the per-row
// results go to a shared buffer and a last pass adds them in row order. Nothing depends on the
// thread count.
#include <algorithm>
#include <atomic>
#include <vector>

#include "gpu/attention_validation.hpp"
#include "gpu/cpu/attention_kernels.hpp"
#include "gpu/cpu/cpu_backend.hpp"

namespace alisa::gpu::cpu {
namespace {

constexpr int64_t kBlocksPerTask = 8;   // split schedule: up to 512 list entries per task
constexpr size_t kSplitBelowRowsPerThread = 16;

struct work_row {
  int item = 0, row = 0, kv_head = 0;
  int64_t len = 0;     // list entries (dense: past_len + row + 1)
  int64_t blocks = 0;  // ceil(len / kBlockTokens)
  const int32_t* positions = nullptr;  // nullptr = identity (dense)
  float* mass = nullptr;               // destination in item.mass, or
  int64_t mass_temp = -1;              // offset into the shared sum_rows buffer
  int64_t mass_cols = 0;
  int64_t partial_offset = 0;          // split schedule: shared partials
  int64_t e_offset = -1;               // split schedule, mass rows: shared e values
};

struct block_range {
  size_t work;
  int64_t first, last;
};

struct row_sum {  // sum_rows: item.mass[kv_head][cols] = Σ_r temp[r][kv_head][cols]
  float* mass;
  int64_t temp, rows, cols;
  int kv_head, num_kv_heads;
};


}  // namespace

void cpu_backend::attention(std::span<const attention_item> items, const attention_shape& shape) {
  validate_attention(items, shape);
  tiled_attention(items, shape);  // prefill chunks; the rest below, row by row
  const int group = shape.num_heads / shape.num_kv_heads;
  const int hd = shape.head_dim;
  const int kvh = shape.num_kv_heads;
  const int64_t q_dim = int64_t{shape.num_heads} * hd;
  const int64_t partial_floats = attn::partial_floats(group, hd);

  // --- work rows and the sizes of everything they need ---------------------------------------
  std::vector<work_row> work;
  std::vector<row_sum> sums;
  int64_t temp_floats = 0, max_blocks = 1, max_mass_len = 0;
  bool any_mass = false;
  for (size_t i = 0; i < items.size(); ++i) {
    const attention_item& it = items[i];
    if (it.num_rows == 0 || attends_tiled(it)) continue;
    const bool sparse = it.tokens && !it.tokens->dense;
    const int mass_rows = it.mass ? it.mass_rows.num_rows : 0;
    const int64_t cols = sparse ? it.tokens->list_size : int64_t{it.past_len} + it.num_rows;
    const bool summed = mass_rows > 1 && it.mass_rows.sum_rows;
    const int64_t temp_base = temp_floats;
    if (summed) {
      for (int k = 0; k < kvh; ++k) sums.push_back({it.mass, temp_base, mass_rows, cols, k, kvh});
      temp_floats += int64_t{mass_rows} * kvh * cols;
    }
    for (int r = 0; r < it.num_rows; ++r) {
      const int mass_row = r - (it.num_rows - mass_rows);  // >= 0: reported
      for (int k = 0; k < kvh; ++k) {
        work_row w;
        w.item = static_cast<int>(i);
        w.row = r;
        w.kv_head = k;
        w.len = sparse ? it.tokens->list_size : int64_t{it.past_len} + r + 1;
        w.blocks = (w.len + attn::kBlockTokens - 1) / attn::kBlockTokens;
        w.positions = sparse ? it.tokens->list(it.tokens->num_lists == 1 ? 0 : k).data() : nullptr;
        w.mass_cols = cols;
        if (mass_row >= 0) {
          const int64_t at = (int64_t{mass_row} * kvh + k) * cols;
          if (summed)
            w.mass_temp = temp_base + at;
          else
            w.mass = it.mass + at;
          any_mass = true;
          max_mass_len = std::max(max_mass_len, w.len);
        }
        max_blocks = std::max(max_blocks, w.blocks);
        work.push_back(w);
      }
    }
  }
  if (work.empty()) return;
  const bool split = work.size() < kSplitBelowRowsPerThread * static_cast<size_t>(num_threads());

  // Shared buffer: [partials | e of mass rows] (split schedule) then [sum_rows temp].
  int64_t shared_floats = 0;
  std::vector<block_range> tasks;
  if (split) {
    for (size_t w = 0; w < work.size(); ++w) {
      work[w].partial_offset = shared_floats;
      shared_floats += work[w].blocks * partial_floats;
      for (int64_t b = 0; b < work[w].blocks; b += kBlocksPerTask)
        tasks.push_back({w, b, std::min(work[w].blocks, b + kBlocksPerTask)});
    }
    for (auto& w : work)
      if (w.mass || w.mass_temp >= 0) {
        w.e_offset = shared_floats;
        shared_floats += int64_t{group} * w.len;
      }
  }
  const int64_t temp_offset = shared_floats;
  shared_floats += temp_floats;
  float* shared = shared_floats > 0 ? shared_scratch(static_cast<size_t>(shared_floats)) : nullptr;

  // Per-thread: block workspace | merge workspace | (one-task schedule) partials | e.
  const size_t block_ws = attn::block_workspace_floats(group, hd);
  const size_t merge_ws = attn::merge_workspace_floats(group, max_blocks);
  const size_t own_partials = split ? 0 : static_cast<size_t>(max_blocks * partial_floats);
  const size_t own_e = split || !any_mass ? 0 : static_cast<size_t>(int64_t{group} * max_mass_len);
  const size_t per_thread = block_ws + merge_ws + own_partials + own_e;
  for (int t = 0; t < num_threads(); ++t) scratch(t, per_thread);  // grown here, not in a worker

  auto run_block = [&](const work_row& w, int64_t b, float* partial, float* e, float* ws) {
    const attention_item& it = items[static_cast<size_t>(w.item)];
    const int64_t total = int64_t{it.past_len} + it.num_rows;
    attn::block_task t;
    t.q = it.q + w.row * q_dim + int64_t{w.kv_head} * group * hd;
    t.group = group;
    t.head_dim = hd;
    t.scale = shape.scale;
    t.keys = attn::head_view(it.keys, w.kv_head, hd, total);
    t.values = attn::head_view(it.values, w.kv_head, hd, total);
    t.positions = w.positions;
    t.begin = b * attn::kBlockTokens;
    t.count = std::min(attn::kBlockTokens, w.len - t.begin);
    t.e = e ? e + t.begin : nullptr;
    t.e_stride = w.len;
    t.partial = partial;
    t.workspace = ws;
    attn::attend_block(t);
  };
  auto run_merge = [&](const work_row& w, const float* partials, const float* e, float* ws) {
    const attention_item& it = items[static_cast<size_t>(w.item)];
    attn::merge_task m;
    m.partials = partials;
    m.num_blocks = w.blocks;
    m.group = group;
    m.head_dim = hd;
    m.out = it.out + w.row * q_dim + int64_t{w.kv_head} * group * hd;
    m.e = e;
    m.e_stride = w.len;
    m.len = w.len;
    m.mass = w.mass ? w.mass : w.mass_temp >= 0 ? shared + temp_offset + w.mass_temp : nullptr;
    m.mass_cols = w.mass_cols;
    m.workspace = ws;
    attn::merge_blocks(m);
  };
  auto wants_mass = [](const work_row& w) { return w.mass || w.mass_temp >= 0; };

  const auto num_work = static_cast<int64_t>(work.size());
  if (split) {
    // The task that finishes a work row's last blocks merges it (the merge reads the partials in
    // block order whoever runs it, so the bits do not depend on which thread that is).
    std::vector<std::atomic<int32_t>> tasks_left(work.size());
    for (const block_range& task : tasks) tasks_left[task.work].fetch_add(1, std::memory_order_relaxed);
    const auto num_tasks = static_cast<int64_t>(tasks.size());
    pool_.run([&](int thread, int count) {
      float* ws = scratch(thread, per_thread);
      for (int64_t i = thread; i < num_tasks; i += count) {
        const block_range& task = tasks[static_cast<size_t>(i)];
        const work_row& w = work[task.work];
        float* e = wants_mass(w) ? shared + w.e_offset : nullptr;
        for (int64_t b = task.first; b < task.last; ++b)
          run_block(w, b, shared + w.partial_offset + b * partial_floats, e, ws);
        if (tasks_left[task.work].fetch_sub(1, std::memory_order_acq_rel) == 1)
          run_merge(w, shared + w.partial_offset, e, ws + block_ws);
      }
    });
  } else {
    pool_.run([&](int thread, int count) {
      float* ws = scratch(thread, per_thread);
      float* partials = ws + block_ws + merge_ws;
      float* e = partials + own_partials;
      for (int64_t i = thread; i < num_work; i += count) {
        const work_row& w = work[static_cast<size_t>(i)];
        const bool mass = wants_mass(w);
        for (int64_t b = 0; b < w.blocks; ++b)
          run_block(w, b, partials + b * partial_floats, mass ? e : nullptr, ws);
        run_merge(w, partials, mass ? e : nullptr, ws + block_ws);
      }
    });
  }

  if (sums.empty()) return;
  const auto num_sums = static_cast<int64_t>(sums.size());
  pool_.run([&](int thread, int count) {
    for (int64_t i = thread; i < num_sums; i += count) {
      const row_sum& s = sums[static_cast<size_t>(i)];
      float* dst = s.mass + s.kv_head * s.cols;
      const int64_t row_stride = int64_t{s.num_kv_heads} * s.cols;
      const float* src = shared + temp_offset + s.temp + s.kv_head * s.cols;
      std::copy(src, src + s.cols, dst);
      for (int64_t r = 1; r < s.rows; ++r)
        for (int64_t c = 0; c < s.cols; ++c) dst[c] += src[r * row_stride + c];
    }
  });
}

}  // namespace alisa::gpu::cpu
