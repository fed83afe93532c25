// windowed_scores: scatter of dense, shared-list and per-head-list mass, and exact expiry.
#include "scheduler/windowed_scores.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "tests/scheduler/selection_fixtures.hpp"

namespace alisa::scheduler {
namespace {

using test::decode_mass;
using test::table;

std::vector<double> scores_of(const windowed_scores& w) {
  return {w.scores().begin(), w.scores().end()};
}

token_set sparse(int num_lists, int list_size, std::vector<int32_t> positions) {
  token_set s;
  s.dense = false;
  s.num_lists = num_lists;
  s.list_size = list_size;
  s.positions = std::move(positions);
  return s;
}

TEST(WindowedScores, DenseMassSumsHeadsByPosition) {
  windowed_scores w;
  token_set dense;
  // Trailing positions with zero mass still count as seen.
  w.add_step(dense, decode_mass(dense, 6, 2, table({{{1, 0.5f}, {3, 0.25f}}, {{1, 0.25f}}})));
  EXPECT_EQ(w.num_positions(), 6);
  EXPECT_EQ(w.num_steps(), 1);
  EXPECT_EQ(scores_of(w), (std::vector<double>{0, 0.75, 0, 0.25, 0, 0}));
}

TEST(WindowedScores, SharedListColumnsAreItsPositions) {
  windowed_scores w;
  w.extend_to(10);
  const token_set set = sparse(1, 3, {2, 5, 9});
  w.add_step(set, decode_mass(set, 10, 2, table({{{5, 0.5f}, {9, 0.5f}}, {{2, 0.125f}, {5, 0.25f}}})));
  EXPECT_EQ(scores_of(w), (std::vector<double>{0, 0, 0.125, 0, 0, 0.75, 0, 0, 0, 0.5}));
}

TEST(WindowedScores, PerHeadListsScatterToTheirOwnPositions) {
  windowed_scores w;
  const token_set set = sparse(2, 2, {1, 3, 2, 3});
  w.add_step(set, decode_mass(set, 4, 2, table({{{1, 0.5f}, {3, 0.25f}}, {{2, 0.125f}, {3, 0.5f}}})));
  EXPECT_EQ(scores_of(w), (std::vector<double>{0, 0.5, 0.125, 0.75}));
}

TEST(WindowedScores, MultipleReportedRowsFormOneStep) {
  windowed_scores w;
  attention_mass m;
  m.num_rows = 2;
  m.num_kv_heads = 1;
  m.num_cols = 3;
  m.values = {0.5f, 0.5f, 0.0f, 0.25f, 0.25f, 0.5f};
  w.add_step(token_set{}, m);
  EXPECT_EQ(w.num_steps(), 1);
  EXPECT_EQ(scores_of(w), (std::vector<double>{0.75, 0.75, 0.5}));
}

TEST(WindowedScores, KeepLastSubtractsTheOldestAndResetsToExactZero) {
  windowed_scores w;
  token_set dense;
  // Values that are not exact in binary: subtraction alone would leave rounding residue.
  w.add_step(dense, decode_mass(dense, 4, 1, table({{{0, 0.1f}, {1, 0.3f}}})));
  w.add_step(dense, decode_mass(dense, 4, 1, table({{{1, 0.7f}, {2, 0.1f}}})));
  w.add_step(dense, decode_mass(dense, 4, 1, table({{{2, 0.2f}, {3, 0.9f}}})));
  EXPECT_EQ(w.num_steps(), 3);
  w.keep_last(3);
  EXPECT_EQ(w.num_steps(), 3);
  w.keep_last(2);
  EXPECT_EQ(w.scores()[0], 0.0);
  EXPECT_EQ(w.scores()[1], static_cast<double>(0.7f));
  w.keep_last(1);
  EXPECT_EQ(w.num_steps(), 1);
  EXPECT_EQ(w.scores()[1], 0.0);
  EXPECT_EQ(w.scores()[2], static_cast<double>(0.2f));
  EXPECT_EQ(w.scores()[3], static_cast<double>(0.9f));
  w.keep_last(0);
  EXPECT_EQ(w.num_steps(), 0);
  EXPECT_EQ(scores_of(w), (std::vector<double>{0, 0, 0, 0}));
  EXPECT_EQ(w.num_positions(), 4);  // positions stay known
}

TEST(WindowedScores, NoRoundingResidueAfterTheLastEntryLeaves) {
  windowed_scores w;
  token_set dense;
  // 1 + 1e-10 is not exact in double, so (1 + 1e-10) - 1 - 1e-10 leaves a residue that would
  // make this position beat an older zero-score position.
  w.add_step(dense, decode_mass(dense, 2, 1, table({{{1, 1.0f}}})));
  w.add_step(dense, decode_mass(dense, 2, 1, table({{{1, 1e-10f}}})));
  w.add_step(dense, decode_mass(dense, 2, 1, table({{{0, 0.5f}}})));
  w.keep_last(2);
  EXPECT_GT(w.scores()[1], 0.0);
  w.keep_last(1);
  EXPECT_EQ(w.scores()[1], 0.0);
  EXPECT_EQ(w.scores()[0], 0.5);
}

TEST(WindowedScores, RecycledStorageStartsEmpty) {
  windowed_scores w;
  token_set dense;
  w.add_step(dense, decode_mass(dense, 3, 1, table({{{0, 0.5f}, {1, 0.5f}, {2, 0.5f}}})));
  w.keep_last(0);
  w.add_step(dense, decode_mass(dense, 3, 1, table({{{2, 0.25f}}})));
  w.keep_last(1);
  EXPECT_EQ(scores_of(w), (std::vector<double>{0, 0, 0.25}));
  w.keep_last(0);
  EXPECT_EQ(scores_of(w), (std::vector<double>{0, 0, 0}));
}

}  // namespace
}  // namespace alisa::scheduler
