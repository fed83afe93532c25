// dense_kv_cache layout and backend::append_kv in every KV dtype: conversions, the int8 chunk
// codec (error bound, statistics, exact staging rows) and append splitting.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gpu/backend.hpp"
#include "gpu/cpu/convert.hpp"
#include "gpu/kv_cache.hpp"
#include "tests/support/random_floats.hpp"

namespace alisa::gpu {
namespace {

using test::random_floats;

constexpr kv_dtype kAllTypes[] = {kv_dtype::f32, kv_dtype::f16, kv_dtype::bf16, kv_dtype::i8};

size_t align64(size_t bytes) { return (bytes + 63) / 64 * 64; }

size_t chunks_for(int capacity) {
  return (static_cast<size_t>(capacity) + kv_chunk_tokens - 1) / kv_chunk_tokens;
}

// Appends rows [n][kv_dim] to both keys and values of `layer` in pieces of the given sizes.
void append_in_pieces(backend& be, dense_kv_cache& cache, int layer, const std::vector<float>& rows,
                      const std::vector<int>& pieces) {
  int at = cache.length();
  for (int n : pieces) {
    const float* src = rows.data() + static_cast<size_t>(at - cache.length()) * cache.kv_dim();
    be.append_kv(cache.keys(layer), at, src, n);
    be.append_kv(cache.values(layer), at, src, n);
    at += n;
  }
}

// Every byte a kv_rows owns, for byte-for-byte comparisons.
std::vector<unsigned char> raw_bytes(const kv_rows& r, int capacity) {
  std::vector<unsigned char> out;
  auto add = [&](const void* p, size_t bytes) {
    const auto* c = static_cast<const unsigned char*>(p);
    out.insert(out.end(), c, c + bytes);
  };
  const size_t dim = static_cast<size_t>(r.kv_dim);
  add(r.data, static_cast<size_t>(capacity) * dim * kv_dtype_size(r.type));
  if (r.type == kv_dtype::i8) {
    add(r.minimum, chunks_for(capacity) * dim * sizeof(float));
    add(r.scale, chunks_for(capacity) * dim * sizeof(float));
    add(r.staging, static_cast<size_t>(kv_chunk_tokens) * dim * sizeof(float));
  }
  return out;
}

TEST(KvCache, LayoutIsAlignedDisjointAndCounted) {
  auto be = make_backend(backend_kind::cpu, 1);
  const int layers = 3, kv_dim = 24, capacity = 100;
  for (kv_dtype type : kAllTypes) {
    dense_kv_cache cache(*be, layers, kv_dim, capacity, type);
    EXPECT_EQ(cache.type(), type);
    EXPECT_EQ(cache.capacity(), capacity);
    EXPECT_EQ(cache.kv_dim(), kv_dim);
    EXPECT_EQ(cache.length(), 0);
    const size_t data = align64(static_cast<size_t>(capacity) * kv_dim * kv_dtype_size(type));
    const size_t stats = align64(chunks_for(capacity) * kv_dim * sizeof(float));
    const size_t staging = align64(size_t{kv_chunk_tokens} * kv_dim * sizeof(float));
    const size_t per_rows = type == kv_dtype::i8 ? data + 2 * stats + staging : data;
    EXPECT_EQ(cache.num_bytes(), 2 * layers * per_rows) << to_string(type);
    // Every sub-buffer 64-byte aligned, none overlapping another.
    std::vector<std::pair<uintptr_t, size_t>> spans;
    for (int l = 0; l < layers; ++l)
      for (const kv_rows* r : {&cache.keys(l), &cache.values(l)}) {
        EXPECT_EQ(r->type, type);
        EXPECT_EQ(r->kv_dim, kv_dim);
        spans.push_back({reinterpret_cast<uintptr_t>(r->data), data});
        if (type == kv_dtype::i8) {
          spans.push_back({reinterpret_cast<uintptr_t>(r->minimum), stats});
          spans.push_back({reinterpret_cast<uintptr_t>(r->scale), stats});
          spans.push_back({reinterpret_cast<uintptr_t>(r->staging), staging});
        } else {
          EXPECT_EQ(r->minimum, nullptr);
          EXPECT_EQ(r->scale, nullptr);
          EXPECT_EQ(r->staging, nullptr);
        }
      }
    std::sort(spans.begin(), spans.end());
    for (size_t i = 0; i < spans.size(); ++i) {
      EXPECT_EQ(spans[i].first % 64, 0u) << to_string(type) << " span " << i;
      if (i > 0) {
        EXPECT_GE(spans[i].first, spans[i - 1].first + spans[i - 1].second);
      }
    }
    EXPECT_LE(spans.back().first + spans.back().second - spans.front().first, cache.num_bytes());
    cache.advance(5);
    EXPECT_EQ(cache.length(), 5);
    cache.clear();
    EXPECT_EQ(cache.length(), 0);
  }
}

TEST(KvCache, AppendConvertsWithRoundToNearestEven) {
  for (int threads : {1, 2}) {
    auto be = make_backend(backend_kind::cpu, threads);
    // Wide enough (2000 rows x 40) that a multi-threaded backend splits the append.
    const int kv_dim = 40, n = 2000;
    auto rows = random_floats(static_cast<size_t>(n) * kv_dim, 3, -70000.0f, 70000.0f);
    rows[0] = 1.0f + 0x1p-11f;  // fp16 tie -> 1.0
    rows[1] = 1.0f + 0x1p-8f;   // bf16 tie -> 1.0
    rows[2] = 1e-6f;            // fp16 subnormal
    for (kv_dtype type : kAllTypes) {
      if (type == kv_dtype::i8) continue;
      dense_kv_cache cache(*be, 1, kv_dim, n + 7, type);
      be->append_kv(cache.keys(0), 0, rows.data(), 3);
      be->append_kv(cache.keys(0), 3, rows.data() + 3 * kv_dim, n - 3);
      be->synchronize();
      for (size_t i = 0; i < rows.size(); ++i) {
        if (type == kv_dtype::f32) {
          ASSERT_EQ(static_cast<const float*>(cache.keys(0).data)[i], rows[i]);
          continue;
        }
        const uint16_t got = static_cast<const uint16_t*>(cache.keys(0).data)[i];
        const uint16_t want = type == kv_dtype::f16 ? cpu::f32_to_f16(rows[i]) : cpu::f32_to_bf16(rows[i]);
        ASSERT_EQ(got, want) << to_string(type) << " element " << i;
      }
      if (type == kv_dtype::f16) {
        EXPECT_EQ(cpu::f16_to_f32(static_cast<const uint16_t*>(cache.keys(0).data)[0]), 1.0f);
      }
      if (type == kv_dtype::bf16) {
        EXPECT_EQ(cpu::bf16_to_f32(static_cast<const uint16_t*>(cache.keys(0).data)[1]), 1.0f);
      }
    }
  }
}

TEST(KvCache, Int8ChunksQuantiseWithinHalfAScaleAndStagingIsExact) {
  auto be = make_backend(backend_kind::cpu, 2);
  const int kv_dim = 37, n = 2 * kv_chunk_tokens + 5;  // two complete chunks and 5 staged rows
  auto rows = random_floats(static_cast<size_t>(n) * kv_dim, 4);
  // Channels with their own offsets and ranges; channel 3 constant (scale 0, decodes exactly).
  for (int t = 0; t < n; ++t)
    for (int c = 0; c < kv_dim; ++c) {
      float& x = rows[static_cast<size_t>(t) * kv_dim + c];
      x = c == 3 ? 0.375f : x * (0.01f + static_cast<float>(c)) + static_cast<float>(c) - 10.0f;
    }
  dense_kv_cache cache(*be, 1, kv_dim, 300, kv_dtype::i8);
  const kv_rows& r = cache.keys(0);
  const auto* codes = static_cast<const uint8_t*>(r.data);

  // 63 rows: nothing quantised yet.
  be->append_kv(r, 0, rows.data(), kv_chunk_tokens - 1);
  for (int i = 0; i < kv_chunk_tokens * kv_dim; ++i) ASSERT_EQ(codes[i], 0);
  for (int c = 0; c < kv_dim; ++c) ASSERT_EQ(r.scale[c], 0.0f);
  be->append_kv(r, kv_chunk_tokens - 1, rows.data() + (kv_chunk_tokens - 1) * kv_dim,
                n - (kv_chunk_tokens - 1));

  for (int chunk = 0; chunk < 2; ++chunk)
    for (int c = 0; c < kv_dim; ++c) {
      float mn = INFINITY, mx = -INFINITY;
      for (int t = 0; t < kv_chunk_tokens; ++t) {
        const float x = rows[static_cast<size_t>(chunk * kv_chunk_tokens + t) * kv_dim + c];
        mn = std::min(mn, x);
        mx = std::max(mx, x);
      }
      const float mn_got = r.minimum[chunk * kv_dim + c], s = r.scale[chunk * kv_dim + c];
      ASSERT_EQ(mn_got, mn);
      ASSERT_EQ(s, (mx - mn) / 255.0f);
      if (c == 3) {
        ASSERT_EQ(s, 0.0f);
      }
      bool saw_zero = false, saw_top = false;
      for (int t = 0; t < kv_chunk_tokens; ++t) {
        const int pos = chunk * kv_chunk_tokens + t;
        const float x = rows[static_cast<size_t>(pos) * kv_dim + c];
        const uint8_t code = codes[static_cast<size_t>(pos) * kv_dim + c];
        saw_zero |= code == 0;
        saw_top |= code == 255;
        const double decoded = double{mn_got} + double{s} * code;
        ASSERT_LE(std::abs(decoded - x), s / 2.0 * (1 + 1e-5) + 1e-6 * std::abs(x))
            << "chunk " << chunk << " channel " << c << " row " << t;
        // The code is the nearest one.
        if (s > 0) {
          ASSERT_EQ(code, static_cast<int>(std::nearbyint((x - mn) / s)));
        }
      }
      EXPECT_TRUE(saw_zero);
      if (c != 3) {
        EXPECT_TRUE(saw_top);
      }
    }
  // The chunk being filled: the staged rows are the fp32 rows, bit for bit; no codes yet.
  for (int pos = 2 * kv_chunk_tokens; pos < n; ++pos) {
    EXPECT_EQ(std::memcmp(r.staging + (pos % kv_chunk_tokens) * kv_dim,
                          rows.data() + static_cast<size_t>(pos) * kv_dim, kv_dim * sizeof(float)),
              0)
        << "position " << pos;
    for (int c = 0; c < kv_dim; ++c) ASSERT_EQ(codes[static_cast<size_t>(pos) * kv_dim + c], 0);
  }
}

TEST(KvCache, OddSizedAppendsEqualOneAppendByteForByte) {
  const int kv_dim = 24, capacity = 300;
  const std::vector<int> pieces = {1, 62, 2, 63, 64, 65, 3};  // 260 rows across chunk edges
  int total = 0;
  for (int p : pieces) total += p;
  const auto rows = random_floats(static_cast<size_t>(total) * kv_dim, 5, -4.0f, 4.0f);
  for (kv_dtype type : kAllTypes) {
    auto be1 = make_backend(backend_kind::cpu, 1);
    auto be2 = make_backend(backend_kind::cpu, 2);
    dense_kv_cache whole(*be1, 2, kv_dim, capacity, type), split(*be2, 2, kv_dim, capacity, type);
    append_in_pieces(*be1, whole, 1, rows, {total});
    append_in_pieces(*be2, split, 1, rows, pieces);
    for (int layer = 0; layer < 2; ++layer) {
      EXPECT_EQ(raw_bytes(whole.keys(layer), capacity), raw_bytes(split.keys(layer), capacity))
          << to_string(type) << " layer " << layer;
      EXPECT_EQ(raw_bytes(whole.values(layer), capacity), raw_bytes(split.values(layer), capacity))
          << to_string(type) << " layer " << layer;
    }
  }
}

TEST(KvCache, AppendRejectsMalformedRows) {
  auto be = make_backend(backend_kind::cpu, 1);
  const std::vector<float> row(8, 1.0f);
  kv_rows bad;
  bad.kv_dim = 8;
  EXPECT_THROW(be->append_kv(bad, 0, row.data(), 1), std::invalid_argument);  // no data
  dense_kv_cache cache(*be, 1, 8, 64, kv_dtype::i8);
  kv_rows no_stats = cache.keys(0);
  no_stats.staging = nullptr;
  EXPECT_THROW(be->append_kv(no_stats, 0, row.data(), 1), std::invalid_argument);
  be->append_kv(no_stats, 0, row.data(), 0);  // nothing to write: no-op
}

}  // namespace
}  // namespace alisa::gpu
