// cpu_backend::tiled_attention — the schedule of tiled_attention_kernels for multi-row dense
// items (prefill chunks); cpu_attention.cpp hands them here and runs every other item per row.
//
// Three passes over the pool, each a list of independent tasks taken from an atomic counter:
// 1. pack each (item, kv head)'s queries transposed and scaled (tiled::packed_queries);
// 2. one task per (item, kv head, tile of kTileRows rows), most expensive first (a causal tile
//    costs in proportion to its last position);
// 3. for items that want attention mass: one task per (item, kv head, key block), each owning its
//    block's columns, so no two tasks write the same float.
// Results do not depend on which thread runs a task, so they are identical for every thread count.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "gpu/cpu/cpu_backend.hpp"
#include "gpu/cpu/tiled_attention_kernels.hpp"

namespace alisa::gpu::cpu {
namespace {

// Where one (item, kv head)'s packed queries and softmax statistics live in the shared buffer.
struct packed_head {
  size_t item;
  int kv_head;
  int64_t vectors;  // num_rows · group
  int64_t stride;   // padded, plus the slack kernels may read
  int64_t offset;   // qt [head_dim][stride] | position [stride] | m [stride] | l [stride]
};

struct tile_ref {
  size_t head;  // index into the packed heads
  int first_row, rows;
  int64_t cost;  // keys the tile's last row sees
};

struct mass_ref {
  size_t head;
  int64_t block;
};


// Runs body(thread, task) for every task in [0, count), each exactly once, over the pool.
template <typename Body>
void run_tasks(thread_pool& pool, int64_t count, const Body& body) {
  if (count == 0) return;
  std::atomic<int64_t> next{0};
  pool.run([&](int thread, int /*threads*/) {
    for (int64_t i = next.fetch_add(1, std::memory_order_relaxed); i < count;
         i = next.fetch_add(1, std::memory_order_relaxed))
      body(thread, i);
  });
}

}  // namespace

bool cpu_backend::attends_tiled(const attention_item& item) {
  return item.num_rows > 1 && (!item.tokens || item.tokens->dense);
}

void cpu_backend::tiled_attention(std::span<const attention_item> items,
                                  const attention_shape& shape) {
  const int group = shape.num_heads / shape.num_kv_heads;
  const int hd = shape.head_dim;
  const int64_t q_dim = int64_t{shape.num_heads} * hd;

  std::vector<packed_head> heads;
  std::vector<tile_ref> tiles;
  std::vector<mass_ref> blocks;
  int64_t shared_floats = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    const attention_item& it = items[i];
    if (!attends_tiled(it)) continue;
    const int64_t vectors = int64_t{it.num_rows} * group;
    const int64_t stride = tiled::padded_vectors(vectors) + tiled::kVectorPad;
    for (int k = 0; k < shape.num_kv_heads; ++k) {
      const size_t head = heads.size();
      heads.push_back({i, k, vectors, stride, shared_floats});
      shared_floats += (hd + 3) * stride;
      for (int r = 0; r < it.num_rows; r += tiled::kTileRows) {
        const int rows = std::min(tiled::kTileRows, it.num_rows - r);
        tiles.push_back({head, r, rows, int64_t{it.past_len} + r + rows});
      }
      if (it.mass && it.mass_rows.num_rows > 0) {
        const int64_t cols = int64_t{it.past_len} + it.num_rows;
        for (int64_t b = 0; b * tiled::kKeyBlock < cols; ++b) blocks.push_back({head, b});
      }
    }
  }
  if (heads.empty()) return;
  std::stable_sort(tiles.begin(), tiles.end(),
                   [](const tile_ref& a, const tile_ref& b) { return a.cost > b.cost; });
  float* shared = shared_scratch(static_cast<size_t>(shared_floats));
  const size_t workspace = tiled::workspace_floats(group, hd);
  for (int t = 0; t < num_threads(); ++t) scratch(t, workspace);  // grown here, not in a worker

  auto qt_of = [&](const packed_head& h) { return shared + h.offset; };
  auto position_of = [&](const packed_head& h) {
    return reinterpret_cast<int32_t*>(shared + h.offset + int64_t{hd} * h.stride);
  };
  auto m_of = [&](const packed_head& h) { return shared + h.offset + int64_t{hd + 1} * h.stride; };
  auto l_of = [&](const packed_head& h) { return shared + h.offset + int64_t{hd + 2} * h.stride; };
  auto queries_of = [&](const packed_head& h) {
    return tiled::packed_queries{qt_of(h), h.stride, position_of(h), group, hd};
  };

  run_tasks(pool_, static_cast<int64_t>(heads.size()), [&](int /*thread*/, int64_t index) {
    const packed_head& h = heads[static_cast<size_t>(index)];
    const attention_item& it = items[h.item];
    float* qt = qt_of(h);
    int32_t* position = position_of(h);
    for (int64_t v = 0; v < h.stride; ++v) {
      const bool real = v < h.vectors;
      const int64_t row = real ? v / group : it.num_rows - 1;
      position[v] = static_cast<int32_t>(it.past_len + row);
      const float* q = it.q + row * q_dim + (int64_t{h.kv_head} * group + v % group) * hd;
      for (int d = 0; d < hd; ++d) qt[int64_t{d} * h.stride + v] = real ? q[d] * shape.scale : 0.0f;
    }
    std::fill(m_of(h), m_of(h) + 2 * h.stride, 0.0f);  // m and l: defined for the slack reads
  });

  run_tasks(pool_, static_cast<int64_t>(tiles.size()), [&](int thread, int64_t index) {
    const tile_ref& ref = tiles[static_cast<size_t>(index)];
    const packed_head& h = heads[ref.head];
    const attention_item& it = items[h.item];
    const int64_t total = int64_t{it.past_len} + it.num_rows;
    tiled::tile_task t;
    t.queries = queries_of(h);
    t.first = int64_t{ref.first_row} * group;
    t.count = int64_t{ref.rows} * group;
    t.keys = attn::head_view(it.keys, h.kv_head, hd, total);
    t.values = attn::head_view(it.values, h.kv_head, hd, total);
    t.num_keys = total;
    t.out = it.out + int64_t{ref.first_row} * q_dim + int64_t{h.kv_head} * group * hd;
    t.out_stride = q_dim;
    t.m = m_of(h);
    t.l = l_of(h);
    t.workspace = scratch(thread, workspace);
    tiled::attend_tile(t);
  });

  run_tasks(pool_, static_cast<int64_t>(blocks.size()), [&](int thread, int64_t index) {
    const mass_ref& ref = blocks[static_cast<size_t>(index)];
    const packed_head& h = heads[ref.head];
    const attention_item& it = items[h.item];
    const int64_t cols = int64_t{it.past_len} + it.num_rows;
    const int mass_rows = std::min(it.mass_rows.num_rows, it.num_rows);
    tiled::mass_task t;
    t.queries = queries_of(h);
    t.first = int64_t{it.num_rows - mass_rows} * group;
    t.count = int64_t{mass_rows} * group;
    t.m = m_of(h);
    t.l = l_of(h);
    t.keys = attn::head_view(it.keys, h.kv_head, hd, cols);
    t.block = ref.block;
    t.cols = cols;
    t.sum_rows = it.mass_rows.sum_rows && mass_rows > 1;
    // Layout [rows][num_kv_heads][cols] (one row when summed).
    t.mass = it.mass + int64_t{h.kv_head} * cols;
    t.row_stride = int64_t{shape.num_kv_heads} * cols;
    t.workspace = scratch(thread, workspace);
    tiled::mass_block(t);
  });
}

}  // namespace alisa::gpu::cpu
