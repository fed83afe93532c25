// Every policy against a naive reference model on random mass sequences, plus the invariants of
// every sparse set. Mass values are multiples of 1/64 so that every sum is exact in double and the
// running sums must match the references bit for bit (ties included: many values are 0).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "scheduler/token_selector.hpp"
#include "tests/scheduler/selection_fixtures.hpp"

namespace alisa::scheduler {
namespace {

using test::decode_mass;
using test::list_of;
using test::options_for;
using test::prefill_mass;
using V = std::vector<int32_t>;

// A step's mass, random but fixed per (step, head, position).
test::mass_fn random_mass(uint32_t seed) {
  return [seed](int h, int p) {
    // splitmix64 of (seed, head, position): cheap and well mixed.
    uint64_t x = (uint64_t{seed} << 32) ^ (static_cast<uint64_t>(h) << 24) ^ static_cast<uint64_t>(p);
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    x ^= x >> 31;
    const int k = static_cast<int>(x % 96);
    return k < 32 ? 0.0f : static_cast<float>(k - 32) / 64.0f;  // a third are 0: many ties
  };
}

// Reference SWA: the full history of head-summed rows; scores = sum of the last W of them.
class swa_reference {
 public:
  explicit swa_reference(const selection_options& o) : o_(o) {}

  void observe(const token_set& set, const attention_mass& m) {
    std::map<int, double> row;
    for (int h = 0; h < m.num_kv_heads; ++h) {
      for (int c = 0; c < m.num_cols; ++c) {
        row[set.dense ? c : set.list(0)[c]] += m.row(0, h)[c];
      }
    }
    history_.push_back(row);
  }

  V select(int n) const {
    const int b = token_budget(o_, n);
    if (b == n) return {};
    const int recent = (b + 1) / 2;
    const int window = o_.window > 0 ? o_.window : recent;
    std::vector<double> score(n, 0.0);
    const int first = std::max(0, static_cast<int>(history_.size()) - window);
    for (size_t i = first; i < history_.size(); ++i) {
      for (const auto& [p, v] : history_[i]) score[p] += v;
    }
    V older(n - recent);
    for (int p = 0; p < n - recent; ++p) older[p] = p;
    std::stable_sort(older.begin(), older.end(),
                     [&](int a, int c) { return score[a] > score[c]; });  // ties keep age order
    V out(older.begin(), older.begin() + (b - recent));
    for (int p = n - recent; p < n; ++p) out.push_back(p);
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  selection_options o_;
  std::vector<std::map<int, double>> history_;
};

// Reference H2O: per head a map of kept positions to score; evicts one position at a time.
class h2o_reference {
 public:
  h2o_reference(const selection_options& o, int num_heads) : o_(o), heads_(num_heads) {}

  void admit(int end) {
    for (; admitted_ < end; ++admitted_) {
      for (auto& h : heads_) h[admitted_] = 0.0;
    }
  }

  void observe(const token_set& set, const attention_mass& m) {
    if (set.dense) admit(m.num_cols);
    for (int h = 0; h < m.num_kv_heads; ++h) {
      for (int c = 0; c < m.num_cols; ++c) {
        const int p = set.dense ? c : set.list(h)[c];
        if (auto it = heads_[h].find(p); it != heads_[h].end()) it->second += m.row(0, h)[c];
      }
    }
  }

  std::vector<V> select(int n) {
    admit(n);
    const int b = token_budget(o_, n);
    const int protected_from = n - (b + 1) / 2;
    for (auto& h : heads_) {
      while (static_cast<int>(h.size()) > b) {
        auto victim = h.end();
        for (auto it = h.begin(); it != h.end() && it->first < protected_from; ++it) {
          if (victim == h.end() || it->second < victim->second) victim = it;  // strict: older wins
        }
        EXPECT_NE(victim, h.end());
        h.erase(victim);
      }
    }
    if (static_cast<int>(heads_[0].size()) == n) return {};
    std::vector<V> lists;
    for (const auto& h : heads_) {
      V l;
      for (const auto& [p, s] : h) l.push_back(p);
      lists.push_back(l);
    }
    return lists;
  }

 private:
  selection_options o_;
  std::vector<std::map<int, double>> heads_;
  int admitted_ = 0;
};

void expect_valid_sparse(const token_set& set, int n, int budget, int num_lists) {
  ASSERT_FALSE(set.dense);
  ASSERT_EQ(set.num_lists, num_lists);
  ASSERT_EQ(set.list_size, budget);
  ASSERT_EQ(set.positions.size(), static_cast<size_t>(num_lists) * budget);
  for (int i = 0; i < num_lists; ++i) {
    const auto l = set.list(i);
    ASSERT_GE(l.front(), 0);
    ASSERT_EQ(l.back(), n - 1) << "the query itself";
    for (int j = 1; j < budget; ++j) ASSERT_LT(l[j - 1], l[j]) << "strictly ascending";
  }
}

struct scenario {
  double sparsity;
  int min_budget;
  int max_budget;
  int window;
  int prompt;  // 0: decode from the first token
};

const std::vector<scenario> k_scenarios = {
    {0.5, 2, 0, 0, 12}, {0.8, 2, 0, 0, 40},  {0.8, 2, 0, 3, 40}, {0.6, 1, 0, 0, 0},
    {0.9, 3, 9, 0, 25}, {0.3, 2, 0, 32, 7}, {0.75, 2, 0, 1, 0}, {0.0, 2, 12, 0, 5},
};

TEST(ReferenceModel, SwaMatchesWindowedSumOverHistory) {
  constexpr int kHeads = 3;
  for (size_t si = 0; si < k_scenarios.size(); ++si) {
    const scenario& sc = k_scenarios[si];
    const auto o = options_for(attention_policy::swa, sc.sparsity, sc.min_budget, sc.max_budget,
                               sc.window);
    auto selector = make_token_selector(o, 2, kHeads);
    swa_reference reference[2] = {swa_reference(o), swa_reference(o)};
    for (int layer = 0; layer < 2 && sc.prompt > 0; ++layer) {
      const mass_request r = selector->wanted_mass(layer, sc.prompt);
      ASSERT_TRUE(r.sum_rows);
      const auto m = prefill_mass(sc.prompt, kHeads, random_mass(1000 + layer));
      selector->observe(layer, token_set{}, m);
      reference[layer].observe(token_set{}, m);
    }
    for (int n = std::max(sc.prompt + 1, 1); n <= 260; ++n) {
      for (int layer = 0; layer < 2; ++layer) {
        SCOPED_TRACE(testing::Message() << "scenario " << si << " n=" << n << " layer " << layer);
        token_set set;
        selector->select(layer, n, set);
        const V expected = reference[layer].select(n);
        if (expected.empty()) {
          ASSERT_TRUE(set.dense);
        } else {
          expect_valid_sparse(set, n, token_budget(o, n), 1);
          ASSERT_EQ(list_of(set), expected);
        }
        ASSERT_EQ(selector->wanted_mass(layer, 1).num_rows, 1);
        const auto m = decode_mass(set, n, kHeads, random_mass(n * 2 + layer));
        selector->observe(layer, set, m);
        reference[layer].observe(set, m);
      }
    }
  }
}

TEST(ReferenceModel, H2oMatchesOneAtATimeEviction) {
  constexpr int kHeads = 3;
  for (size_t si = 0; si < k_scenarios.size(); ++si) {
    const scenario& sc = k_scenarios[si];
    const auto o = options_for(attention_policy::h2o, sc.sparsity, sc.min_budget, sc.max_budget);
    auto selector = make_token_selector(o, 1, kHeads);
    h2o_reference reference(o, kHeads);
    if (sc.prompt > 0) {
      const auto m = prefill_mass(sc.prompt, kHeads, random_mass(77));
      selector->observe(0, token_set{}, m);
      reference.observe(token_set{}, m);
    }
    std::vector<std::set<int32_t>> evicted(kHeads);
    std::vector<std::set<int32_t>> previous(kHeads);
    for (int n = std::max(sc.prompt + 1, 1); n <= 260; ++n) {
      SCOPED_TRACE(testing::Message() << "scenario " << si << " n=" << n);
      token_set set;
      selector->select(0, n, set);
      const std::vector<V> expected = reference.select(n);
      if (expected.empty()) {
        ASSERT_TRUE(set.dense);
      } else {
        expect_valid_sparse(set, n, token_budget(o, n), kHeads);
        for (int h = 0; h < kHeads; ++h) {
          ASSERT_EQ(list_of(set, h), expected[h]) << "head " << h;
          const std::set<int32_t> now(set.list(h).begin(), set.list(h).end());
          for (int32_t p : previous[h]) {
            if (!now.count(p)) evicted[h].insert(p);
          }
          for (int32_t p : now) ASSERT_FALSE(evicted[h].count(p)) << "evicted " << p << " is back";
          previous[h] = now;
        }
      }
      const auto m = decode_mass(set, n, kHeads, random_mass(n));
      selector->observe(0, set, m);
      reference.observe(set, m);
    }
  }
}

TEST(ReferenceModel, PositionalPoliciesKeepTheInvariants) {
  for (auto p : {attention_policy::local, attention_policy::strided, attention_policy::streaming}) {
    for (const scenario& sc : k_scenarios) {
      const auto o = options_for(p, sc.sparsity, sc.min_budget, sc.max_budget);
      auto selector = make_token_selector(o, 1, 1);
      token_set set;
      for (int n = 1; n <= 300; ++n) {
        selector->select(0, n, set);
        const int b = token_budget(o, n);
        if (b == n) {
          ASSERT_TRUE(set.dense);
        } else {
          expect_valid_sparse(set, n, b, 1);
        }
      }
    }
  }
}

}  // namespace
}  // namespace alisa::scheduler
