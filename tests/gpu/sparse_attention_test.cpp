// backend::attention over typed KV caches: dense causal rows, sparse token lists (shared and per kv
// head), attention mass, KV dtypes, determinism, and malformed items, against a double-precision
// reference written here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "gpu/backend.hpp"
#include "tests/support/backend_params.hpp"
#include "gpu/cpu/convert.hpp"
#include "gpu/kv_cache.hpp"
#include "hwy/targets.h"
#include "tests/support/random_floats.hpp"

namespace alisa::gpu {
namespace {

using test::random_floats;

// `count` distinct sorted positions from [0, visible), always including visible - 1.
std::vector<int32_t> random_list(int count, int visible, uint32_t seed) {
  std::vector<int32_t> all(static_cast<size_t>(visible - 1));
  std::iota(all.begin(), all.end(), 0);
  std::mt19937 rng(seed);
  std::shuffle(all.begin(), all.end(), rng);
  std::vector<int32_t> list(all.begin(), all.begin() + (count - 1));
  list.push_back(visible - 1);
  std::sort(list.begin(), list.end());
  return list;
}

std::vector<int32_t> iota_list(int begin, int end) {
  std::vector<int32_t> v(static_cast<size_t>(end - begin));
  std::iota(v.begin(), v.end(), begin);
  return v;
}

// One sequence of a test call.
struct seq_spec {
  int num_rows = 1;
  int past_len = 0;
  std::vector<std::vector<int32_t>> lists;  // empty: dense; else 1 or num_kv_heads lists
  int mass_rows = 0;
  bool sum_rows = false;
};

struct result {
  std::vector<float> out, mass;
};

// A sequence's cache, buffers and what the reference needs.
struct sequence {
  seq_spec spec;
  std::unique_ptr<dense_kv_cache> cache;
  std::vector<float> q_host;
  std::vector<double> k_stored, v_stored;  // what the cache holds, decoded exactly
  std::vector<float> k_host, v_host;        // the fp32 rows appended
  float* q = nullptr;
  float* out = nullptr;
  float* mass = nullptr;
  token_set tokens;

  int total() const { return spec.past_len + spec.num_rows; }
  bool sparse() const { return !spec.lists.empty(); }
  int mass_cols() const { return sparse() ? static_cast<int>(spec.lists[0].size()) : total(); }
  size_t mass_floats(int num_kv_heads) const {
    const int rows = spec.sum_rows ? std::min(spec.mass_rows, 1) : spec.mass_rows;
    return static_cast<size_t>(rows) * num_kv_heads * mass_cols();
  }
};

// The positions [0, len) of a cache layer as stored, decoded in double.
std::vector<double> decode_stored(const kv_rows& r, int len) {
  const size_t dim = static_cast<size_t>(r.kv_dim);
  std::vector<double> out(static_cast<size_t>(len) * dim);
  const int quantized = len / kv_chunk_tokens * kv_chunk_tokens;
  for (int p = 0; p < len; ++p)
    for (size_t c = 0; c < dim; ++c) {
      const size_t i = static_cast<size_t>(p) * dim + c;
      double x = 0;
      switch (r.type) {
        case kv_dtype::f32: x = static_cast<const float*>(r.data)[i]; break;
        case kv_dtype::f16: x = cpu::f16_to_f32(static_cast<const uint16_t*>(r.data)[i]); break;
        case kv_dtype::bf16: x = cpu::bf16_to_f32(static_cast<const uint16_t*>(r.data)[i]); break;
        case kv_dtype::i8: {
          if (p >= quantized) {
            x = r.staging[static_cast<size_t>(p % kv_chunk_tokens) * dim + c];
          } else {
            const size_t s = static_cast<size_t>(p / kv_chunk_tokens) * dim + c;
            x = double{r.minimum[s]} + double{r.scale[s]} * static_cast<const uint8_t*>(r.data)[i];
          }
          break;
        }
      }
      out[i] = x;
    }
  return out;
}

sequence make_sequence(backend& be, const attention_shape& sh, kv_dtype type, seq_spec spec,
                       uint32_t seed) {
  sequence s;
  s.spec = std::move(spec);
  const int kv_dim = sh.num_kv_heads * sh.head_dim, q_dim = sh.num_heads * sh.head_dim;
  const int total = s.total();
  s.cache = std::make_unique<dense_kv_cache>(be, 1, kv_dim, total + 3, type);
  // Scores of a few units: softmax neither flat nor one-hot.
  s.q_host = random_floats(static_cast<size_t>(s.spec.num_rows) * q_dim, seed, -2.0f, 2.0f);
  s.k_host = random_floats(static_cast<size_t>(total) * kv_dim, seed + 1, -2.0f, 2.0f);
  s.v_host = random_floats(static_cast<size_t>(total) * kv_dim, seed + 2);
  // Prompt rows, then the step's rows, as the forward pass appends them.
  for (auto [at, n] : {std::pair{0, s.spec.past_len}, std::pair{s.spec.past_len, s.spec.num_rows}}) {
    be.append_kv(s.cache->keys(0), at, s.k_host.data() + static_cast<size_t>(at) * kv_dim, n);
    be.append_kv(s.cache->values(0), at, s.v_host.data() + static_cast<size_t>(at) * kv_dim, n);
  }
  s.cache->advance(total);
  be.synchronize();
  s.k_stored = decode_stored(s.cache->keys(0), total);
  s.v_stored = decode_stored(s.cache->values(0), total);
  s.q = static_cast<float*>(be.allocate(s.q_host.size() * sizeof(float)));
  be.upload(s.q, s.q_host.data(), s.q_host.size() * sizeof(float));
  s.out = static_cast<float*>(be.allocate(s.q_host.size() * sizeof(float)));
  if (s.spec.mass_rows > 0)
    s.mass = static_cast<float*>(be.allocate(std::max<size_t>(1, s.mass_floats(sh.num_kv_heads)) * sizeof(float)));
  if (s.sparse()) {
    s.tokens.dense = false;
    s.tokens.num_lists = static_cast<int>(s.spec.lists.size());
    s.tokens.list_size = static_cast<int>(s.spec.lists[0].size());
    for (const auto& l : s.spec.lists) s.tokens.positions.insert(s.tokens.positions.end(), l.begin(), l.end());
  }
  return s;
}

attention_item item_of(const sequence& s) {
  attention_item it;
  it.q = s.q;
  it.keys = s.cache->keys(0);
  it.values = s.cache->values(0);
  it.out = s.out;
  it.num_rows = s.spec.num_rows;
  it.past_len = s.spec.past_len;
  it.tokens = s.sparse() ? &s.tokens : nullptr;
  it.mass = s.mass;
  it.mass_rows = mass_request{s.spec.mass_rows, s.spec.sum_rows};
  return it;
}

result run(backend& be, std::vector<sequence>& seqs, const attention_shape& sh) {
  std::vector<attention_item> items;
  for (const auto& s : seqs) items.push_back(item_of(s));
  be.attention(items, sh);
  be.synchronize();
  result r;
  for (const auto& s : seqs) {
    const size_t n = s.q_host.size();
    r.out.resize(r.out.size() + n);
    be.download(r.out.data() + r.out.size() - n, s.out, n * sizeof(float));
    const size_t m = s.mass ? s.mass_floats(sh.num_kv_heads) : 0;
    r.mass.resize(r.mass.size() + m);
    if (m) be.download(r.mass.data() + r.mass.size() - m, s.mass, m * sizeof(float));
  }
  return r;
}

struct reference {
  std::vector<double> out, mass;
};

// The attention of one sequence in double over the given K/V (rows [position][kv_dim]).
reference attention_reference(const sequence& s, const attention_shape& sh,
                              const std::vector<double>& k, const std::vector<double>& v) {
  const int hd = sh.head_dim, q_dim = sh.num_heads * hd, kv_dim = sh.num_kv_heads * hd;
  const int group = sh.num_heads / sh.num_kv_heads, cols = s.mass_cols();
  reference ref;
  ref.out.assign(static_cast<size_t>(s.spec.num_rows) * q_dim, 0.0);
  std::vector<double> mass_rows(static_cast<size_t>(s.spec.mass_rows) * sh.num_kv_heads * cols, 0.0);
  for (int i = 0; i < s.spec.num_rows; ++i)
    for (int h = 0; h < sh.num_heads; ++h) {
      const int kvh = h / group;
      std::vector<int32_t> positions;
      if (s.sparse())
        positions = s.spec.lists[s.spec.lists.size() == 1 ? 0 : static_cast<size_t>(kvh)];
      else
        positions = iota_list(0, s.spec.past_len + i + 1);
      std::vector<double> p(positions.size());
      double mx = -1e300, total = 0;
      for (size_t j = 0; j < positions.size(); ++j) {
        double dot = 0;
        for (int d = 0; d < hd; ++d)
          dot += double{s.q_host[static_cast<size_t>(i * q_dim + h * hd + d)]} *
                 k[static_cast<size_t>(positions[j]) * kv_dim + kvh * hd + d];
        p[j] = dot * sh.scale;
        mx = std::max(mx, p[j]);
      }
      for (auto& x : p) total += (x = std::exp(x - mx));
      for (auto& x : p) x /= total;
      for (size_t j = 0; j < positions.size(); ++j)
        for (int d = 0; d < hd; ++d)
          ref.out[static_cast<size_t>(i * q_dim + h * hd + d)] +=
              p[j] * v[static_cast<size_t>(positions[j]) * kv_dim + kvh * hd + d];
      const int mass_row = i - (s.spec.num_rows - s.spec.mass_rows);
      if (mass_row >= 0)
        for (size_t j = 0; j < positions.size(); ++j)
          mass_rows[(static_cast<size_t>(mass_row) * sh.num_kv_heads + kvh) * cols + j] += p[j];
    }
  if (s.spec.sum_rows && s.spec.mass_rows > 0) {
    ref.mass.assign(static_cast<size_t>(sh.num_kv_heads) * cols, 0.0);
    for (int r = 0; r < s.spec.mass_rows; ++r)
      for (size_t c = 0; c < ref.mass.size(); ++c)
        ref.mass[c] += mass_rows[static_cast<size_t>(r) * ref.mass.size() + c];
  } else {
    ref.mass = std::move(mass_rows);
  }
  return ref;
}

// Checks every sequence of `got` against the reference on the stored K/V (tolerance `tol`), and
// the mass sanity: each reported row of a kv head sums to the group size.
void expect_matches_reference(const std::vector<sequence>& seqs, const attention_shape& sh,
                              const result& got, double tol, const std::string& what) {
  size_t out_at = 0, mass_at = 0;
  const int group = sh.num_heads / sh.num_kv_heads;
  for (size_t si = 0; si < seqs.size(); ++si) {
    const sequence& s = seqs[si];
    const reference ref = attention_reference(s, sh, s.k_stored, s.v_stored);
    for (size_t i = 0; i < ref.out.size(); ++i)
      ASSERT_NEAR(got.out[out_at + i], ref.out[i], tol) << what << " seq " << si << " out " << i;
    out_at += ref.out.size();
    if (!s.mass) continue;
    ASSERT_EQ(ref.mass.size(), s.mass_floats(sh.num_kv_heads));
    // A summed column adds rows_summed rows' probabilities, each within tol.
    const int rows_summed = s.spec.sum_rows ? s.spec.mass_rows : 1;
    for (size_t i = 0; i < ref.mass.size(); ++i)
      ASSERT_NEAR(got.mass[mass_at + i], ref.mass[i], tol * rows_summed)
          << what << " seq " << si << " mass " << i;
    const size_t cols = static_cast<size_t>(s.mass_cols());
    for (size_t row = 0; row < ref.mass.size() / cols; ++row) {
      double total = 0;
      for (size_t c = 0; c < cols; ++c) total += got.mass[mass_at + row * cols + c];
      EXPECT_NEAR(total, static_cast<double>(group) * rows_summed, 1e-4 * group * rows_summed) << what << " seq " << si;
    }
    mass_at += ref.mass.size();
  }
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

constexpr kv_dtype kAllTypes[] = {kv_dtype::f32, kv_dtype::f16, kv_dtype::bf16, kv_dtype::i8};

const attention_shape kShapes[] = {
    {9, 3, 64, 0.125f},   // GQA group 3, the decode benchmark's shape
    {4, 2, 16, 0.25f},    // group 2, two AVX2 vectors per head
    {6, 2, 5, 0.45f},     // head_dim below one vector: scalar tails everywhere
    {2, 2, 20, 0.2f},     // no GQA, a partial vector per head
};

std::string shape_name(const attention_shape& sh) {
  return std::to_string(sh.num_heads) + "/" + std::to_string(sh.num_kv_heads) + "x" +
         std::to_string(sh.head_dim);
}

// Every built backend against the double-precision reference (the CPU at 1 and 2 threads).
class SparseAttention : public testing::TestWithParam<test::backend_param> {
 protected:
  void SetUp() override { ALISA_MAKE_BACKEND_OR_SKIP(be_, GetParam()); }
  // fp32 bound: the CPU's own 1e-5, the GPU's acceptance bound 1e-4.
  double tol() const { return test::tolerance(GetParam(), 1e-5, 1e-4); }
  std::unique_ptr<backend> be_;
};

TEST_P(SparseAttention, DenseCausalRowsWithGqaMatchReference) {
  uint32_t seed = 100;
  for (const auto& sh : kShapes) {
    // Single decode rows, multi-row steps after a prompt, rows crossing block/chunk edges.
    std::vector<sequence> seqs;
    for (auto [rows, past] : {std::pair{1, 0}, {3, 5}, {1, 140}, {17, 0}, {2, 70}, {70, 60}}) {
      seq_spec spec;
      spec.num_rows = rows;
      spec.past_len = past;
      seqs.push_back(make_sequence(*be_, sh, kv_dtype::f32, spec, seed += 3));
    }
    expect_matches_reference(seqs, sh, run(*be_, seqs, sh), tol(), "dense " + shape_name(sh));
  }
}

TEST_P(SparseAttention, SparseSharedAndPerKvHeadListsMatchReference) {
  uint32_t seed = 200;
  for (const auto& sh : kShapes) {
    std::vector<sequence> seqs;
    const int past = 300;
    for (int size : {1, 7, 64, 65, 150, 301}) {
      seq_spec shared;
      shared.past_len = past;
      shared.lists = {random_list(size, past + 1, seed += 2)};
      shared.mass_rows = 1;
      seqs.push_back(make_sequence(*be_, sh, kv_dtype::f32, shared, seed += 3));
      seq_spec per_head = shared;
      per_head.lists.clear();
      for (int k = 0; k < sh.num_kv_heads; ++k) per_head.lists.push_back(random_list(size, past + 1, seed += 2));
      seqs.push_back(make_sequence(*be_, sh, kv_dtype::f32, per_head, seed += 3));
    }
    // Past the prompt's last chunk edge: a window of recent tokens plus a few old ones.
    seq_spec window;
    window.past_len = 1000;
    window.lists = {iota_list(0, 4)};
    const auto recent = iota_list(900, 1001);
    window.lists[0].insert(window.lists[0].end(), recent.begin(), recent.end());
    window.mass_rows = 1;
    seqs.push_back(make_sequence(*be_, sh, kv_dtype::f32, window, seed += 3));
    expect_matches_reference(seqs, sh, run(*be_, seqs, sh), tol(), "sparse " + shape_name(sh));
  }
}

TEST_P(SparseAttention, ListOfEveryPositionEqualsDenseBitForBit) {
  uint32_t seed = 300;
  for (const auto& sh : kShapes)
    for (kv_dtype type : kAllTypes)
      for (int past : {0, 63, 64, 200, 1100}) {
        seq_spec dense;
        dense.past_len = past;
        dense.mass_rows = 1;
        seq_spec all = dense;
        all.lists = {iota_list(0, past + 1)};
        seq_spec per_head = all;
        per_head.lists.assign(static_cast<size_t>(sh.num_kv_heads), all.lists[0]);
        seed += 5;
        std::vector<sequence> a, b, c;
        a.push_back(make_sequence(*be_, sh, type, dense, seed));
        b.push_back(make_sequence(*be_, sh, type, all, seed));
        c.push_back(make_sequence(*be_, sh, type, per_head, seed));
        const result ra = run(*be_, a, sh), rb = run(*be_, b, sh), rc = run(*be_, c, sh);
        const std::string what = shape_name(sh) + " " + std::string(to_string(type)) + " past " + std::to_string(past);
        EXPECT_TRUE(same_bits(ra.out, rb.out)) << what;
        EXPECT_TRUE(same_bits(ra.mass, rb.mass)) << what;
        EXPECT_TRUE(same_bits(ra.out, rc.out)) << what;
        EXPECT_TRUE(same_bits(ra.mass, rc.mass)) << what;
        expect_matches_reference(a, sh, ra, 2e-5, what);
      }
}

TEST_P(SparseAttention, MassPerRowAndSummedRowsMatchReference) {
  uint32_t seed = 400;
  for (const auto& sh : kShapes) {
    std::vector<sequence> seqs;
    // Per row: the last 3 rows of a prefill; every row; summed over the last 5 rows; summed over
    // every row of a long prefill; a single summed row (the same as not summing).
    for (auto [rows, past, mass_rows, sum] :
         {std::tuple{10, 20, 3, false}, {4, 0, 4, false}, {12, 100, 5, true}, {90, 0, 90, true},
          {2, 7, 1, true}}) {
      seq_spec spec;
      spec.num_rows = rows;
      spec.past_len = past;
      spec.mass_rows = mass_rows;
      spec.sum_rows = sum;
      seqs.push_back(make_sequence(*be_, sh, kv_dtype::f32, spec, seed += 3));
    }
    const result got = run(*be_, seqs, sh);
    expect_matches_reference(seqs, sh, got, tol(), "mass " + shape_name(sh));
    // Zeros beyond each row's causal limit (first sequence: rows 7..9 at positions 27..29 of 30).
    const size_t cols = 30;
    for (int r = 0; r < 3; ++r)
      for (int k = 0; k < sh.num_kv_heads; ++k)
        for (size_t c = static_cast<size_t>(28 + r); c < cols; ++c)
          ASSERT_EQ(got.mass[(static_cast<size_t>(r) * sh.num_kv_heads + k) * cols + c], 0.0f);
  }
}

TEST_P(SparseAttention, StoredKvDtypesMatchReferenceOnStoredAndOriginalValues) {
  uint32_t seed = 500;
  const attention_shape sh{9, 3, 64, 0.125f};
  for (kv_dtype type : kAllTypes) {
    std::vector<sequence> seqs;
    for (auto [rows, past] : {std::pair{1, 0}, {1, 63}, {1, 64}, {1, 700}, {5, 60}, {40, 100}}) {
      seq_spec spec;
      spec.num_rows = rows;
      spec.past_len = past;
      spec.mass_rows = 1;
      seqs.push_back(make_sequence(*be_, sh, type, spec, seed += 3));
    }
    // Sparse: runs inside chunks (long and short), scattered picks, staged rows.
    seq_spec sparse;
    sparse.past_len = 700;
    sparse.lists = {random_list(50, 701, seed += 2)};
    for (int p : iota_list(130, 200)) sparse.lists[0].push_back(p);
    for (int p : iota_list(640, 701)) sparse.lists[0].push_back(p);
    std::sort(sparse.lists[0].begin(), sparse.lists[0].end());
    sparse.lists[0].erase(std::unique(sparse.lists[0].begin(), sparse.lists[0].end()), sparse.lists[0].end());
    sparse.mass_rows = 1;
    seqs.push_back(make_sequence(*be_, sh, type, sparse, seed += 3));
    seq_spec per_head = sparse;
    per_head.lists = {random_list(120, 701, 1), random_list(120, 701, 2), iota_list(581, 701)};
    seqs.push_back(make_sequence(*be_, sh, type, per_head, seed += 3));

    const result got = run(*be_, seqs, sh);
    const std::string what(to_string(type));
    // Against the values the cache holds: only fp32 rounding differs.
    expect_matches_reference(seqs, sh, got, 2e-5, what + " stored");
    // Against the fp32 rows that went in: the storage error. v in [-1, 1]; fp16 keeps 11 bits,
    // bf16 8, int8 half a scale (ranges of 4 and 2 over 255 levels) per element.
    const double tol = type == kv_dtype::f32 ? 2e-5 : type == kv_dtype::f16 ? 2e-3 : type == kv_dtype::bf16 ? 2e-2 : 2.5e-2;
    size_t at = 0;
    for (const auto& s : seqs) {
      std::vector<double> k(s.k_host.begin(), s.k_host.end()), v(s.v_host.begin(), s.v_host.end());
      const reference ref = attention_reference(s, sh, k, v);
      for (size_t i = 0; i < ref.out.size(); ++i)
        ASSERT_NEAR(got.out[at + i], ref.out[i], tol) << what << " original, index " << i;
      at += ref.out.size();
    }
  }
}

TEST_P(SparseAttention, CallsWithOneOrManyItemsGiveTheSameBits) {
  // Alone, a decode row takes the block-split schedule; inside a big batch, the one-task-per-row
  // schedule. Both must produce identical bits (and so must every thread count, see below).
  const attention_shape sh{9, 3, 64, 0.125f};
  for (kv_dtype type : {kv_dtype::f32, kv_dtype::i8}) {
    seq_spec decode;
    decode.past_len = 1500;
    decode.mass_rows = 1;
    seq_spec sparse = decode;
    sparse.lists = {random_list(300, 1501, 7)};
    std::vector<sequence> alone_dense, alone_sparse, batch;
    alone_dense.push_back(make_sequence(*be_, sh, type, decode, 11));
    alone_sparse.push_back(make_sequence(*be_, sh, type, sparse, 12));
    batch.push_back(make_sequence(*be_, sh, type, decode, 11));
    batch.push_back(make_sequence(*be_, sh, type, sparse, 12));
    seq_spec filler;
    filler.num_rows = 30;
    filler.past_len = 10;
    batch.push_back(make_sequence(*be_, sh, type, filler, 13));
    const result a = run(*be_, alone_dense, sh), b = run(*be_, alone_sparse, sh), all = run(*be_, batch, sh);
    const size_t q = a.out.size();
    EXPECT_TRUE(same_bits(a.out, {all.out.begin(), all.out.begin() + static_cast<long>(q)}));
    EXPECT_TRUE(same_bits(b.out, {all.out.begin() + static_cast<long>(q), all.out.begin() + static_cast<long>(2 * q)}));
    EXPECT_TRUE(same_bits(a.mass, {all.mass.begin(), all.mass.begin() + static_cast<long>(a.mass.size())}));
    EXPECT_TRUE(same_bits(b.mass, {all.mass.begin() + static_cast<long>(a.mass.size()), all.mass.end()}));
  }
}

TEST_P(SparseAttention, MalformedItemsThrowWithMessages) {
  const attention_shape sh{6, 3, 8, 0.3f};
  seq_spec spec;
  spec.past_len = 10;
  spec.lists = {{1, 4, 10}};
  sequence s = make_sequence(*be_, sh, kv_dtype::f32, spec, 1);
  auto expect_error = [&](attention_item it, const std::string& needle) {
    try {
      be_->attention({&it, 1}, sh);
      ADD_FAILURE() << "no exception for: " << needle;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  const attention_item good = item_of(s);
  be_->attention({&good, 1}, sh);
  token_set ts = s.tokens;
  auto with = [&](auto change) {
    attention_item it = good;
    ts = s.tokens;
    change(it, ts);
    it.tokens = &ts;
    return it;
  };
  expect_error(with([](attention_item& it, token_set&) { it.num_rows = 2; }), "exactly one query row");
  expect_error(with([](attention_item&, token_set& t) { t.positions = {1, 1, 10}; }), "not strictly ascending");
  expect_error(with([](attention_item&, token_set& t) { t.positions = {4, 1, 10}; }), "not strictly ascending");
  expect_error(with([](attention_item&, token_set& t) { t.positions = {1, 4, 11}; }), "outside [0, 11)");
  expect_error(with([](attention_item&, token_set& t) { t.positions = {-1, 4, 10}; }), "outside [0, 11)");
  expect_error(with([](attention_item&, token_set& t) {
                 t.num_lists = 2;
                 t.positions = {1, 4, 10, 1, 4, 10};
               }), "neither 1 nor num_kv_heads 3");
  expect_error(with([](attention_item&, token_set& t) {
                 t.list_size = 0;
                 t.positions.clear();
               }), "list_size 0 < 1");
  expect_error(with([](attention_item&, token_set& t) { t.positions.push_back(10); }), "expected num_lists * list_size");
  expect_error(with([&](attention_item& it, token_set&) {
                 it.mass = s.out;
                 it.mass_rows.num_rows = 2;
               }), "mass_rows.num_rows 2");
  expect_error(with([](attention_item& it, token_set&) { it.keys.kv_dim = 12; }), "keys.kv_dim 12");
  expect_error(with([](attention_item& it, token_set&) { it.values.data = nullptr; }), "values has no data");
  // The message names the offending item of a batch.
  attention_item bad = with([](attention_item& it, token_set&) { it.num_rows = 2; });
  const attention_item batch[] = {good, bad};
  try {
    be_->attention(batch, sh);
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("item 1"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, SparseAttention,
                         testing::ValuesIn(test::built_backend_params()),
                         test::backend_param_name);

// --- CPU-specific ---------------------------------------------------------------------------------

// The same calls on backends of 1, 2 and 3 threads give identical bits: dense prefill (one task
// per row), decode rows (block-split), sparse rows, mass per row and summed, every dtype.
TEST(CpuAttention, ResultsDoNotDependOnThreadCount) {
  const attention_shape sh{9, 3, 64, 0.125f};
  for (kv_dtype type : kAllTypes) {
    std::vector<result> results;
    for (int threads : {1, 2, 3}) {
      auto be = make_backend(backend_kind::cpu, threads);
      std::vector<sequence> seqs;
      seq_spec prefill;
      prefill.num_rows = 50;
      prefill.past_len = 30;
      prefill.mass_rows = 20;
      prefill.sum_rows = true;
      seqs.push_back(make_sequence(*be, sh, type, prefill, 1));
      seq_spec decode;
      decode.past_len = 2000;
      decode.mass_rows = 1;
      seqs.push_back(make_sequence(*be, sh, type, decode, 2));
      seq_spec sparse = decode;
      sparse.lists = {random_list(400, 2001, 3), random_list(400, 2001, 4), random_list(400, 2001, 5)};
      seqs.push_back(make_sequence(*be, sh, type, sparse, 6));
      results.push_back(run(*be, seqs, sh));
      std::vector<sequence> alone;
      alone.push_back(make_sequence(*be, sh, type, decode, 2));
      results.push_back(run(*be, alone, sh));
    }
    for (size_t i = 2; i < results.size(); ++i) {
      EXPECT_TRUE(same_bits(results[i].out, results[i % 2].out)) << to_string(type) << " " << i;
      EXPECT_TRUE(same_bits(results[i].mass, results[i % 2].mass)) << to_string(type) << " " << i;
    }
  }
}

// A prompt prefilled in chunks (each chunk's rows appended, then attended, as the step loop does)
// gives every row the bits of the whole-prompt prefill: the tiled kernel's arithmetic for a row
// depends only on its position, not on its chunk or tile (chunks cross tile and block edges).
// Not int8: there a chunk sees the newest keys as exact staging rows that a whole prefill has
// already quantised (the cache's contents differ, not the kernel).
TEST(CpuAttention, ChunkedPrefillRowsEqualWholePrefillBitForBit) {
  auto be = make_backend(backend_kind::cpu, 2);
  for (const auto& sh : kShapes)
    for (kv_dtype type : {kv_dtype::f32, kv_dtype::f16, kv_dtype::bf16}) {
      seq_spec spec;
      spec.num_rows = 200;
      std::vector<sequence> whole;
      whole.push_back(make_sequence(*be, sh, type, spec, 900));
      const result want = run(*be, whole, sh);
      const sequence& s = whole[0];
      const int kv_dim = sh.num_kv_heads * sh.head_dim, q_dim = sh.num_heads * sh.head_dim;
      dense_kv_cache cache(*be, 1, kv_dim, 203, type);
      std::vector<float> got(s.q_host.size());
      float* out = static_cast<float*>(be->allocate(got.size() * sizeof(float)));
      int at = 0;
      for (int n : {37, 64, 2, 97}) {
        be->append_kv(cache.keys(0), at, s.k_host.data() + static_cast<size_t>(at) * kv_dim, n);
        be->append_kv(cache.values(0), at, s.v_host.data() + static_cast<size_t>(at) * kv_dim, n);
        attention_item it;
        it.q = s.q + static_cast<size_t>(at) * q_dim;
        it.keys = cache.keys(0);
        it.values = cache.values(0);
        it.out = out + static_cast<size_t>(at) * q_dim;
        it.num_rows = n;
        it.past_len = at;
        be->attention(std::span(&it, 1), sh);
        at += n;
      }
      be->download(got.data(), out, got.size() * sizeof(float));
      be->release(out);
      EXPECT_TRUE(same_bits(got, want.out)) << shape_name(sh) << " " << to_string(type);
    }
}

// The portable fallback (scalar target: one lane, every tail path) agrees with the dispatched one.
TEST(CpuAttention, ScalarFallbackMatchesDispatchedTarget) {
  const attention_shape sh{6, 2, 20, 0.2f};
  for (kv_dtype type : kAllTypes) {
    auto compute = [&] {
      auto be = make_backend(backend_kind::cpu, 2);
      std::vector<sequence> seqs;
      seq_spec prefill;
      prefill.num_rows = 9;
      prefill.past_len = 120;
      prefill.mass_rows = 2;
      seqs.push_back(make_sequence(*be, sh, type, prefill, 1));
      seq_spec sparse;
      sparse.past_len = 400;
      sparse.lists = {random_list(90, 401, 3)};
      for (int p : iota_list(200, 240)) sparse.lists[0].push_back(p);
      std::sort(sparse.lists[0].begin(), sparse.lists[0].end());
      sparse.lists[0].erase(std::unique(sparse.lists[0].begin(), sparse.lists[0].end()), sparse.lists[0].end());
      sparse.mass_rows = 1;
      seqs.push_back(make_sequence(*be, sh, type, sparse, 4));
      return run(*be, seqs, sh);
    };
    const result dispatched = compute();
    hwy::SetSupportedTargetsForTest(HWY_SCALAR);
    const result scalar = compute();
    hwy::SetSupportedTargetsForTest(0);
    ASSERT_EQ(dispatched.out.size(), scalar.out.size());
    for (size_t i = 0; i < scalar.out.size(); ++i)
      ASSERT_NEAR(dispatched.out[i], scalar.out[i], 1e-5) << to_string(type) << " out " << i;
    ASSERT_EQ(dispatched.mass.size(), scalar.mass.size());
    for (size_t i = 0; i < scalar.mass.size(); ++i)
      ASSERT_NEAR(dispatched.mass[i], scalar.mass[i], 1e-5) << to_string(type) << " mass " << i;
  }
}

}  // namespace
}  // namespace alisa::gpu
