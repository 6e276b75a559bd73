#include "modules/formats/hp.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bitset>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "modules/common/error.h"
#include "tests/support/errors.h"
#include "workloads/sparsity/hp_pruner.h"
#include "workloads/sparsity/unstructured_pruner.h"

namespace tacsim::sparsity {
namespace {

using testing_support::contains;
using testing_support::error_of;

Int8Matrix random_matrix(int rows, int cols, std::mt19937& rng, int lo = -128, int hi = 127) {
  Int8Matrix w(rows, cols);
  std::uniform_int_distribution<int> value(lo, hi);
  for (auto& v : w.data) v = static_cast<std::int8_t>(value(rng));
  return w;
}

HpParams params(int br, int bc, int banks, double target, double share = 0.5) {
  HpParams p;
  p.block_rows = br;
  p.block_cols = bc;
  p.banks = banks;
  p.target_sparsity = target;
  p.level1_share = share;
  return p;
}

// The bank rule alone: block width, banks, rows processed together and ports.
HpParams rule(int bc, int banks, int group = 1, int ports = 1, int br = 16) {
  HpParams p = params(br, bc, banks, 0.9);
  p.group_rows = group;
  p.ports_per_bank = ports;
  return p;
}

TEST(HpParams, ValidateNamesTheField) {
  EXPECT_EQ(HpParams{}.validate(), "");
  EXPECT_EQ(params(0, 16, 8, 0.9).validate(), "block_rows: must be in 1..256, got 0");
  EXPECT_EQ(params(16, 300, 8, 0.9).validate(), "block_cols: must be in 1..256, got 300");
  EXPECT_EQ(params(16, 16, 0, 0.9).validate(), "banks: must be in 1..65535, got 0");
  EXPECT_EQ(params(16, 16, 8, 1.5).validate(), "target_sparsity: must be in [0, 1], got 1.500000");
  EXPECT_EQ(params(16, 16, 8, 0.9, -0.1).validate(), "level1_share: must be in [0, 1], got -0.100000");
  HpParams nan_target = HpParams{};
  nan_target.target_sparsity = std::nan("");
  EXPECT_TRUE(contains(nan_target.validate(), "target_sparsity: must be in [0, 1]"));
  EXPECT_EQ(rule(16, 16, 16, 4).validate(), "");
  EXPECT_EQ(rule(16, 16, 3).validate(), "group_rows: must divide block_rows = 16, got 3");
  EXPECT_EQ(rule(16, 16, 32).validate(), "group_rows: must divide block_rows = 16, got 32");
  EXPECT_EQ(rule(16, 16, 0).validate(), "group_rows: must divide block_rows = 16, got 0");
  EXPECT_EQ(rule(16, 16, 1, 0).validate(), "ports_per_bank: must be in 1..65535, got 0");
  // 16 rows of one entry each need 16 reads; 8 banks of 1 port serve 8.
  EXPECT_EQ(
      rule(16, 8, 16, 1).validate(),
      "group_rows: 16 rows of one entry each need more reads than the 8 banks a block reaches serve with "
      "1 ports each");
}

TEST(HpBankMap, InBlockColumnModuloBanks) {
  EXPECT_EQ(hp_bank(3, 16, 8), 3);
  EXPECT_EQ(hp_bank(11, 16, 8), 3);  // 11 mod 16 = 11, mod 8 = 3
  EXPECT_EQ(hp_bank(19, 16, 8), 3);  // 19 mod 16 = 3
  EXPECT_EQ(hp_bank(9, 12, 8), 1);   // 9 mod 12 = 9, mod 8 = 1
  EXPECT_EQ(hp_bank(13, 12, 8), 1);  // 13 mod 12 = 1
  EXPECT_EQ(hp_bank(20, 12, 8), 0);  // 20 mod 12 = 8, mod 8 = 0
  EXPECT_EQ(hp_bank(5, 4, 16), 1);   // more banks than block columns: only 4 are used
  EXPECT_EQ(hp_max_nnz_per_row(params(16, 16, 8, 0.9)), 8);
  EXPECT_EQ(hp_max_nnz_per_row(params(16, 4, 16, 0.9)), 4);
  // Rows processed together share the banks' ports: 16 banks x 4 ports / 16 rows = 4; / 8 rows = 8;
  // / 2 rows = 32, capped at the 16 distinct banks.
  EXPECT_EQ(hp_max_nnz_per_row(rule(16, 16, 16, 4)), 4);
  EXPECT_EQ(hp_max_nnz_per_row(rule(16, 16, 8, 4)), 8);
  EXPECT_EQ(hp_max_nnz_per_row(rule(16, 16, 2, 4)), 16);
  EXPECT_EQ(hp_max_nnz_per_row(rule(16, 16, 16, 1)), 1);
}

TEST(HpPlan, SplitByHand) {
  // 64 x 64 in 16 x 16 blocks: T = 16 blocks of 256. target 0.9, share 0.5: d = 0.1, sqrt(0.1) * 16 = 5.06 ->
  // k 5 (ceil(1.6) = 2 is below); kept = round(0.1 * 16 * 16 / 5) = round(5.12) = 5; sparsity 1 - 5*5/256.
  HpPlan p = plan_hp(64, 64, params(16, 16, 8, 0.9));
  EXPECT_EQ(p.total_blocks, 16);
  EXPECT_EQ(p.nnz_per_row, 5);
  EXPECT_EQ(p.kept_blocks, 5);
  EXPECT_DOUBLE_EQ(p.achieved_sparsity, 1.0 - 25.0 / 256.0);  // 0.90234375
  // target 0.5: sqrt(0.5) * 16 = 11.3 -> 11, capped at 8 banks; kept = round(0.5 * 256 / 8) = 16 = all; 0.5.
  p = plan_hp(64, 64, params(16, 16, 8, 0.5));
  EXPECT_EQ(p.nnz_per_row, 8);
  EXPECT_EQ(p.kept_blocks, 16);
  EXPECT_DOUBLE_EQ(p.achieved_sparsity, 0.5);
  // target 0.3 asks density 0.7 > 8/16, the densest 8 banks allow: every block, k = 8, sparsity 0.5.
  p = plan_hp(64, 64, params(16, 16, 8, 0.3));
  EXPECT_EQ(p.kept_blocks, 16);
  EXPECT_DOUBLE_EQ(p.achieved_sparsity, 0.5);
  // share 1 (blocks only): k = 16 capped at 8; kept = round(0.1 * 256 / 8) = round(3.2) = 3; 1 - 24/256.
  p = plan_hp(64, 64, params(16, 16, 8, 0.9, 1.0));
  EXPECT_EQ(p.nnz_per_row, 8);
  EXPECT_EQ(p.kept_blocks, 3);
  EXPECT_DOUBLE_EQ(p.achieved_sparsity, 1.0 - 24.0 / 256.0);
  // share 0 (in-block only): k = round(1.6) = 2; kept = round(0.1 * 256 / 2) = round(12.8) = 13; 1 - 26/256.
  p = plan_hp(64, 64, params(16, 16, 8, 0.9, 0.0));
  EXPECT_EQ(p.nnz_per_row, 2);
  EXPECT_EQ(p.kept_blocks, 13);
  EXPECT_DOUBLE_EQ(p.achieved_sparsity, 1.0 - 26.0 / 256.0);
  // target 1: nothing kept.
  p = plan_hp(64, 64, params(16, 16, 8, 1.0));
  EXPECT_EQ(p.kept_blocks, 0);
  EXPECT_DOUBLE_EQ(p.achieved_sparsity, 1.0);
}

TEST(HpPlan, RejectsShapesNotMultiplesOfTheBlock) {
  EXPECT_TRUE(contains(error_of([] { plan_hp(40, 64, HpParams{}); }),
                       "HP: rows (out) = 40 is not divisible by block_rows = 16"));
  EXPECT_TRUE(contains(error_of([] { plan_hp(64, 24, HpParams{}); }),
                       "HP: cols (in) = 24 is not divisible by block_cols = 16"));
  EXPECT_TRUE(
      contains(error_of([] { plan_hp(64, 64, params(16, 16, 0, 0.9)); }), "HP params: banks: must be"));
}

// The stated tolerance (hp.h): within half a block's worth of non-zeros of the target, whenever the target
// density is reachable (at most min(banks, block_cols) / block_cols); else exactly that cap.
TEST(HpPlan, AchievesTheTargetWithinHalfABlock) {
  std::mt19937 rng(5);
  int checked = 0;
  for (const auto& shape : {std::pair<int, int>{64, 64}, {128, 256}, {48, 96}}) {
    for (const HpParams& base : {params(16, 16, 8, 0), params(16, 16, 16, 0), params(8, 16, 4, 0),
                                 params(16, 12, 8, 0), params(16, 8, 32, 0)}) {
      if (shape.first % base.block_rows || shape.second % base.block_cols) continue;
      for (double share : {0.0, 0.25, 0.5, 0.75, 1.0}) {
        for (double target = 0.0; target <= 1.0001; target += 0.01) {
          HpParams p = base;
          p.target_sparsity = std::min(target, 1.0);
          p.level1_share = share;
          const HpPlan plan = plan_hp(shape.first, shape.second, p);
          const double cap = static_cast<double>(hp_max_nnz_per_row(p)) / p.block_cols;
          const double d = 1.0 - p.target_sparsity;
          if (d <= cap + 1e-12) {
            const double tolerance =
                static_cast<double>(p.block_rows) * plan.nnz_per_row / (2.0 * shape.first * shape.second);
            ASSERT_LE(std::abs(plan.achieved_sparsity - p.target_sparsity), tolerance + 1e-12)
                << "target " << p.target_sparsity << " share " << share;
          } else {
            ASSERT_DOUBLE_EQ(plan.achieved_sparsity, 1.0 - cap);
          }
          ++checked;
        }
      }
    }
    // The pruner's mask keeps exactly what the plan says.
    const Int8Matrix w = random_matrix(shape.first, shape.second, rng);
    HpPlan plan;
    const Mask mask = prune_hp_mask(w, params(16, 16, 8, 0.87), &plan);
    EXPECT_EQ(count_kept(mask), static_cast<std::uint64_t>(plan.kept_blocks) * 16 * plan.nnz_per_row);
    EXPECT_DOUBLE_EQ(1.0 - density(mask), plan.achieved_sparsity);
  }
  EXPECT_GT(checked, 3000);
}

// Structure of every pruned mask: kept blocks hold exactly k per row in distinct banks, others are empty;
// level 1 kept the blocks of largest norm; level 2's choice has the largest sum any bank-distinct choice has.
TEST(HpPrune, StructureBankPropertyAndOptimality) {
  std::mt19937 rng(99);
  for (const HpParams& base : {params(16, 16, 8, 0), params(4, 8, 4, 0), params(8, 12, 8, 0),
                               params(4, 6, 4, 0), params(4, 4, 16, 0)}) {
    // Level 2 row by row (group_rows 1) is optimal for each row; groups are checked below.
    for (double target : {0.5, 0.75, 0.9, 0.95}) {
      HpParams p = base;
      p.target_sparsity = target;
      const int rows = base.block_rows * 4;
      const int cols = base.block_cols * 5;
      // A narrow range gives ties, which the tie rules must settle deterministically.
      const Int8Matrix w = random_matrix(rows, cols, rng, target > 0.8 ? -128 : -3, target > 0.8 ? 127 : 3);
      HpPlan plan;
      const Mask mask = prune_hp_mask(w, p, &plan);
      ASSERT_EQ(prune_hp_mask(w, p), mask);
      ASSERT_TRUE(check_hp_banks(mask, p).ok);
      const int grid_cols = cols / p.block_cols;
      std::vector<double> energy;
      std::vector<bool> kept;
      for (int br = 0; br < rows / p.block_rows; ++br) {
        for (int bc = 0; bc < grid_cols; ++bc) {
          double e = 0;
          int block_kept = 0;
          for (int i = 0; i < p.block_rows; ++i) {
            const int r = br * p.block_rows + i;
            int row_kept = 0;
            for (int c = bc * p.block_cols; c < (bc + 1) * p.block_cols; ++c) {
              e += static_cast<double>(w.at(r, c)) * w.at(r, c);
              row_kept += mask.at(r, c) ? 1 : 0;
            }
            block_kept += row_kept;
            if (row_kept == 0) continue;
            ASSERT_EQ(row_kept, plan.nnz_per_row);
            // Brute force over every bank-distinct subset of size k: none beats the pruner's sum.
            int chosen = 0;
            for (int c = 0; c < p.block_cols; ++c) {
              if (mask.at(r, bc * p.block_cols + c))
                chosen += static_cast<int>(magnitude(w.at(r, bc * p.block_cols + c)));
            }
            int best = -1;
            for (unsigned subset = 0; subset < (1u << p.block_cols); ++subset) {
              if (static_cast<int>(std::bitset<32>(subset).count()) != plan.nnz_per_row) continue;
              unsigned banks_used = 0;
              bool distinct = true;
              int sum = 0;
              for (int c = 0; c < p.block_cols && distinct; ++c) {
                if (!((subset >> c) & 1u)) continue;
                const unsigned bit = 1u << hp_bank(c, p.block_cols, p.banks);
                distinct = !(banks_used & bit);
                banks_used |= bit;
                sum += static_cast<int>(magnitude(w.at(r, bc * p.block_cols + c)));
              }
              if (distinct) best = std::max(best, sum);
            }
            ASSERT_EQ(chosen, best) << "row " << r << " block col " << bc;
          }
          energy.push_back(e);
          kept.push_back(block_kept > 0);
        }
      }
      ASSERT_EQ(std::count(kept.begin(), kept.end(), true), plan.kept_blocks);
      for (std::size_t a = 0; a < energy.size(); ++a) {
        for (std::size_t b = 0; b < energy.size(); ++b) {
          if (kept[a] && !kept[b]) {
            ASSERT_TRUE(energy[a] > energy[b] || (energy[a] == energy[b] && a < b));
          }
        }
      }
    }
  }
}

// Rows processed together: every aligned group of group_rows rows keeps each bank within its ports, every row
// of a kept block keeps exactly k in distinct banks, and the result round-trips through the stream.
TEST(HpPrune, GroupsKeepTheirReadsWithinThePorts) {
  std::mt19937 rng(7);
  int groups_needing_the_rule = 0;
  for (const HpParams& base : {rule(16, 16, 16, 4), rule(16, 16, 8, 2), rule(16, 8, 4, 2, 8),
                               rule(12, 8, 2, 1, 4), rule(16, 16, 16, 8)}) {
    for (double target : {0.5, 0.75, 0.9, 0.95}) {
      HpParams p = base;
      p.target_sparsity = target;
      const Int8Matrix w = random_matrix(p.block_rows * 3, p.block_cols * 4, rng);
      HpPlan plan;
      const Mask mask = prune_hp_mask(w, p, &plan);
      ASSERT_LE(plan.nnz_per_row, hp_max_nnz_per_row(p));
      const BankCheck check = check_hp_banks(mask, p);
      ASSERT_TRUE(check.ok) << check.first_conflict;
      EXPECT_EQ(count_kept(mask),
                static_cast<std::uint64_t>(plan.kept_blocks) * p.block_rows * plan.nnz_per_row);
      // The row-by-row pruner's choice of the same weights breaks the group rule (else the rule would not be
      // doing anything).
      HpParams rowwise = p;
      rowwise.group_rows = 1;
      if (!check_hp_banks(prune_hp_mask(w, rowwise), p).ok) ++groups_needing_the_rule;
      const HpMatrix x = to_hp(w, mask, p);
      ASSERT_EQ(validate_hp(x), "");
      ASSERT_EQ(slot_mask(x), mask);
      ASSERT_EQ(decode_hp(encode_hp(x), "t"), x);
    }
  }
  EXPECT_GT(groups_needing_the_rule, 10);
}

TEST(HpPrune, BankConstraintChangesTheChoiceByHand) {
  // One 1 x 8 block, 4 banks (bank = col mod 4). share 0, target 0.625: k = round(0.375 * 8) = 3, kept = 1.
  Int8Matrix w(1, 8);
  w.data = {1, 9, 2, 8, 3, 7, 4, 6};
  // Best per bank: bank0 col4 (3), bank1 col1 (9), bank2 col6 (4), bank3 col3 (8); top 3: cols 1, 3, 6.
  // Unstructured top 3 would take col 5 (7), which shares bank 1 with col 1.
  const HpMatrix x = prune_hp(w, params(1, 8, 4, 0.625, 0.0));
  EXPECT_EQ(x.nnz_per_row, 3);
  EXPECT_EQ(x.kept_blocks, (std::vector<std::uint32_t>{0}));
  EXPECT_EQ(x.offsets, (std::vector<std::uint8_t>{1, 3, 6}));
  EXPECT_EQ(x.values, (std::vector<std::int8_t>{9, 8, 4}));
  EXPECT_DOUBLE_EQ(sparsity(x), 0.625);
}

TEST(HpPrune, TiesGoToLowerColumnsAndLowerBlocks) {
  // All magnitudes equal: each bank's best is its lowest column, and the k = 2 banks taken are those whose
  // best column is lowest: cols 0 and 1.
  Int8Matrix w(1, 8);
  w.data = {5, -5, 5, -5, 5, -5, 5, -5};
  EXPECT_EQ(prune_hp(w, params(1, 8, 4, 0.75, 0.0)).offsets, (std::vector<std::uint8_t>{0, 1}));
  // All-zero 32 x 32 in 16 x 16 blocks, share 1 with 16 banks: k = 16, kept = round(0.5 * 4) = 2 of 4 tied
  // blocks: ids 0 and 1.
  const HpMatrix z = prune_hp(Int8Matrix(32, 32), params(16, 16, 16, 0.5, 1.0));
  EXPECT_EQ(z.kept_blocks, (std::vector<std::uint32_t>{0, 1}));
  EXPECT_EQ(z.nnz_per_row, 16);
}

TEST(HpBanks, CheckCountsConflictsOnAnyMask) {
  Mask m(2, 16);
  for (int c : {1, 5, 9, 2})
    m.set(0, c, true);  // block_cols 8, banks 4: cols 1, 5 in bank 1 (seg 0); 9 alone
  for (int c : {0, 4, 12, 3}) m.set(1, c, true);  // seg 0: cols 0, 4 bank 0 + col 3; seg 1: col 12 alone
  const BankCheck check = check_hp_banks(m, rule(8, 4, 1, 1, 2));
  EXPECT_FALSE(check.ok);
  EXPECT_EQ(check.conflicting_segments, 2u);
  EXPECT_EQ(check.extra_fetch_cycles, 2u);  // two segments whose busiest bank holds 2: 1 + 1
  EXPECT_EQ(check.first_conflict, "row 0, cols 0..7: cols 1 and 5 are both in bank 1");
  Mask three(1, 8);
  for (int c : {0, 2, 4}) three.set(0, c, true);
  EXPECT_EQ(check_hp_banks(three, rule(8, 2, 1, 1, 1)).extra_fetch_cycles, 2u);  // all in bank 0 of 2: 3 - 1
  EXPECT_TRUE(check_hp_banks(three, rule(8, 8, 1, 1, 1)).ok);
  // An unstructured 50 % mask on 16-wide rows with 8 banks almost surely conflicts.
  std::mt19937 rng(1);
  EXPECT_FALSE(check_hp_banks(prune_unstructured(random_matrix(16, 64, rng), 0.5), rule(16, 8)).ok);
}

TEST(HpBanks, RowsProcessedTogetherShareTheBanksPorts) {
  // 4 x 8, groups of 2 rows, 4 banks (col mod 4) of 2 ports. Each row's banks are distinct.
  //   rows 0, 1, cols 0..7: row 0 {0, 1}, row 1 {4, 6}: bank 0 holds cols 0 and 4: 2 <= 2 ports.
  //   rows 2, 3, cols 0..7: row 2 {0, 5}, row 3 {1, 4}... bank 0 holds 0, 4; bank 1 holds 5, 1: fine.
  Mask m(4, 8);
  for (int c : {0, 1}) m.set(0, c, true);
  for (int c : {4, 6}) m.set(1, c, true);
  for (int c : {0, 5}) m.set(2, c, true);
  for (int c : {1, 4}) m.set(3, c, true);
  EXPECT_TRUE(check_hp_banks(m, rule(8, 4, 2, 2, 4)).ok);
  // One port: bank 0 holds 2 reads of rows 0, 1, which then need 2 cycles; likewise banks 0 and 1 of rows
  // 2, 3.
  const BankCheck one = check_hp_banks(m, rule(8, 4, 2, 1, 4));
  EXPECT_FALSE(one.ok);
  EXPECT_EQ(one.conflicting_segments, 2u);
  EXPECT_EQ(one.extra_fetch_cycles, 2u);
  EXPECT_EQ(
      one.first_conflict,
      "rows 0..1 (processed together), cols 0..7: bank 0 holds 2 of their entries, more than the 1 reads a "
      "bank serves in a cycle (ports_per_bank)");
  // Row by row (groups of 1) the same mask keeps the rule.
  EXPECT_TRUE(check_hp_banks(m, rule(8, 4, 1, 1, 4)).ok);
  // Three of the 4 rows in bank 2 with 2 ports, as a group of 4: ceil(3 / 2) - 1 = 1 extra cycle.
  Mask t(4, 8);
  for (int r = 0; r < 3; ++r) t.set(r, 2, true);
  const BankCheck four = check_hp_banks(t, rule(8, 4, 4, 2, 4));
  EXPECT_FALSE(four.ok);
  EXPECT_EQ(four.extra_fetch_cycles, 1u);
  EXPECT_TRUE(contains(four.first_conflict, "rows 0..3 (processed together), cols 0..7: bank 2 holds 3"));
}

TEST(HpGroupFill, GreedyAroundFixedEntries) {
  // 2 rows x 4 columns, 4 banks (bank = column) of 1 port, k = 2; row 1 holds column 2 fixed. In order:
  // (0,0) and (0,1) fill row 0; (1,0) and (1,1) find their banks full; (1,3) completes row 1.
  const HpParams p = rule(4, 4, 2, 1, 2);
  const std::vector<std::pair<int, int>> order = {{0, 0}, {0, 1}, {0, 3}, {0, 2},
                                                  {1, 0}, {1, 1}, {1, 3}, {1, 2}};
  std::vector<std::uint8_t> chosen = {0, 0, 0, 0, 0, 0, 1, 0};
  ASSERT_TRUE(HpGroupFill(p).fill(chosen, 2, order));
  EXPECT_EQ(chosen, (std::vector<std::uint8_t>{2, 2, 0, 0, 0, 0, 1, 2}));
  // k = 3 asks 6 reads of 4 banks x 1 port: no choice exists.
  chosen = {0, 0, 0, 1, 0, 0, 1, 0};
  EXPECT_FALSE(HpGroupFill(p).fill(chosen, 3, order));
}

TEST(HpGroupFill, MovesAnEntryToCompleteARow) {
  // 3 rows x 3 columns, 3 banks of 2 ports, k = 2 (6 reads, 6 ports). Greedy: rows 0 and 1 take banks 0
  // and 1, filling both; row 2 takes bank 2 and is left one short. The augmenting move: row 0 leaves bank 0
  // for bank 2 (1 read of 2), and row 2 enters bank 0.
  const HpParams p = rule(3, 3, 3, 2, 3);
  std::vector<std::uint8_t> chosen(9, 0);
  HpGroupFill filler(p);
  ASSERT_TRUE(
      filler.fill(chosen, 2, {{0, 0}, {0, 1}, {1, 0}, {1, 1}, {2, 0}, {2, 1}, {2, 2}, {0, 2}, {1, 2}}));
  EXPECT_EQ(chosen, (std::vector<std::uint8_t>{0, 2, 2,  //
                                               2, 2, 0,  //
                                               2, 0, 2}));
  // A fixed entry never moves: with row 0's entries fixed in banks 0 and 1, row 1's in banks 0 and 1 and
  // row 2's in bank 2, row 2 needs bank 0 or 1, both full, and no row can leave them.
  chosen = {1, 1, 0, 1, 1, 0, 0, 0, 1};
  EXPECT_FALSE(
      filler.fill(chosen, 2, {{0, 0}, {0, 1}, {0, 2}, {1, 0}, {1, 1}, {1, 2}, {2, 0}, {2, 1}, {2, 2}}));
}

TEST(HpToHp, PadsShortRowsAndRejectsConflicts) {
  Int8Matrix w(2, 8);
  w.data = {0, 7, 0, -5, 0, 0, 0, 0,  //
            0, 0, 0, 0,  0, 0, 3, 0};
  // Row 0 keeps cols 1, 3 -> k = 2. Row 1 keeps col 6 (bank 2 of 4) and is padded with the lowest column of
  // an unused bank: col 0 (bank 0), value 0.
  const HpMatrix x = to_hp(w, mask_of_nonzeros(w), params(2, 8, 4, 0));
  EXPECT_EQ(x.nnz_per_row, 2);
  EXPECT_EQ(x.offsets, (std::vector<std::uint8_t>{1, 3, 0, 6}));
  EXPECT_EQ(x.values, (std::vector<std::int8_t>{7, -5, 0, 3}));
  EXPECT_EQ(validate_hp(x), "");
  EXPECT_EQ(to_dense(x), w);
  w.at(0, 5) = 2;  // col 5 is bank 1, like col 1
  const std::string err = error_of([&] { to_hp(w, mask_of_nonzeros(w), params(2, 8, 4, 0)); });
  EXPECT_TRUE(contains(
      err, "to_hp: the mask breaks the HP bank property: row 0, cols 0..7: cols 1 and 5 are both in bank 1"))
      << err;
}

TEST(HpToHp, PadsWithinTheGroupRule) {
  // 2 x 4 in one 2 x 4 block, 4 banks (bank = column) of 1 port, rows processed together in pairs. Row 0
  // keeps cols 0 and 1, row 1 keeps col 2; k = 2, so row 1 is padded with the lowest column whose bank is
  // free to it and has a port left: col 3 (cols 0 and 1 are row 0's).
  Int8Matrix w(2, 4);
  w.data = {4, -2, 0, 0,  //
            0, 0,  9, 0};
  const HpParams p = rule(4, 4, 2, 1, 2);
  const HpMatrix x = to_hp(w, mask_of_nonzeros(w), p);
  EXPECT_EQ(x.nnz_per_row, 2);
  EXPECT_EQ(x.offsets, (std::vector<std::uint8_t>{0, 1, 2, 3}));
  EXPECT_EQ(x.values, (std::vector<std::int8_t>{4, -2, 9, 0}));
  EXPECT_EQ(validate_hp(x), "");
  // Row by row, the padding would take col 0, which row 0 already reads in the same cycle.
  HpMatrix wrong = x;
  wrong.offsets = {0, 1, 0, 2};
  wrong.values = {4, -2, 0, 9};
  EXPECT_EQ(
      validate_hp(wrong),
      "kept block 0 rows 0..1: bank 0 holds 2 of their entries, more than the 1 reads a bank serves in a "
      "cycle (ports_per_bank)");
  EXPECT_THROW(encode_hp(wrong), std::invalid_argument);
  // A mask whose rows processed together meet in a bank is refused, naming them.
  w.at(1, 0) = 5;
  EXPECT_TRUE(
      contains(error_of([&] { to_hp(w, mask_of_nonzeros(w), p); }),
               "to_hp: the mask breaks the HP bank property: rows 0..1 (processed together), cols 0..3: "
               "bank 0 holds 2 of their entries"));
  // Three entries in a row need 2 x 3 = 6 reads of 4 ports.
  w.at(1, 0) = 0;
  w.at(0, 3) = 1;
  EXPECT_TRUE(contains(error_of([&] { to_hp(w, mask_of_nonzeros(w), p); }),
                       "to_hp: a row keeps 3 entries of a block, and 2 rows processed together of that many "
                       "exceed the 4 banks x 1 ports"));
}

TEST(HpRoundTrip, RandomMatricesAndParams) {
  std::mt19937 rng(31);
  for (int trial = 0; trial < 60; ++trial) {
    const int br = 1 + static_cast<int>(rng() % 16);
    const int bc = 1 + static_cast<int>(rng() % 32);
    const int banks = 1 + static_cast<int>(rng() % 20);
    HpParams p = params(br, bc, banks, std::uniform_real_distribution<double>(0.0, 1.0)(rng),
                        std::uniform_real_distribution<double>(0.0, 1.0)(rng));
    // Rows processed together: a divisor of the block rows, with enough ports for one entry each.
    do {
      p.group_rows = 1 + static_cast<int>(rng() % br);
    } while (br % p.group_rows != 0);
    p.ports_per_bank = 1 + static_cast<int>(rng() % 4);
    if (hp_max_nnz_per_row(p) < 1) p.group_rows = 1;
    const Int8Matrix w =
        random_matrix(br * (1 + static_cast<int>(rng() % 4)), bc * (1 + static_cast<int>(rng() % 4)), rng);
    const Mask mask = prune_hp_mask(w, p);
    const HpMatrix x = to_hp(w, mask, p);
    ASSERT_EQ(validate_hp(x), "");
    ASSERT_EQ(x, prune_hp(w, p));
    ASSERT_EQ(to_dense(x), apply_mask(w, mask));
    ASSERT_EQ(slot_mask(x), mask);
    const std::vector<std::uint8_t> bytes = encode_hp(x);
    ASSERT_EQ(bytes.size(), hp_encoded_bytes(x));
    ASSERT_EQ(decode_hp(bytes, "t"), x) << "trial " << trial;
  }
}

HpMatrix sample() {
  // 2 x 16 in 2 x 8 blocks, 4 banks: block 1 kept with k = 2; rows {1: 5, 2: -1} and {0: 3, 7: 4}.
  HpMatrix x;
  x.rows = 2;
  x.cols = 16;
  x.block_rows = 2;
  x.block_cols = 8;
  x.banks = 4;
  x.nnz_per_row = 2;
  x.kept_blocks = {1};
  x.values = {5, -1, 3, 4};
  x.offsets = {1, 2, 0, 7};
  return x;
}

// Pins the documented layout (FORMATS.md) byte by byte.
TEST(HpEncoding, ByteImage) {
  const HpMatrix x = sample();
  ASSERT_EQ(validate_hp(x), "");
  const std::vector<std::uint8_t> expected = {
      'T',  'S',  'H', 'P', 2,  0, 0, 0,  // magic, version, reserved
      2,    0,    0,   0,   16, 0, 0, 0,  // rows, cols
      2,    0,    8,   0,   4,  0, 2, 0,  // block_rows, block_cols, banks, nnz_per_row
      1,    0,    0,   0,   1,  0, 1, 0,  // kept blocks, group_rows, ports_per_bank
      0x02,                               // block map: T = 2 bits, block 1 kept
      5,    0xFF, 3,   4,                 // values
      0x11, 0x0E,  // offsets 1, 2, 0, 7 at 3 bits: 001 | 010 << 3 | 000 << 6 | 111 << 9 = 0x0E11
  };
  EXPECT_EQ(encode_hp(x), expected);
  // 32 header + 1 map + block (2 * 2 values + ceil(4 * 3 / 8) = 2 offset bytes) = 39.
  EXPECT_EQ(hp_encoded_bytes(x), 39u);
  EXPECT_EQ(hp_block_bytes(16, 16, 5), 80u + 40u);  // 80 values + 80 offsets * 4 bits
}

TEST(HpDecode, RejectsEveryTruncation) {
  const std::vector<std::uint8_t> full = encode_hp(sample());
  for (std::size_t len = 0; len < full.size(); ++len) {
    const std::vector<std::uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
    const std::string err = error_of([&] { decode_hp(cut, "w.hp"); });
    ASSERT_TRUE(contains(err, "w.hp: ")) << len;
    ASSERT_TRUE(contains(err, "truncated")) << len << ": " << err;
  }
}

TEST(HpDecode, RejectsMalformedStreams) {
  const std::vector<std::uint8_t> good = encode_hp(sample());
  auto with = [&](std::size_t at, std::uint8_t v) {
    std::vector<std::uint8_t> b = good;
    b[at] = v;
    return error_of([&] { decode_hp(b, "w.hp"); });
  };
  EXPECT_TRUE(contains(with(3, 'Q'), "w.hp: byte 0: not an HP stream"));
  EXPECT_TRUE(contains(with(4, 9), "unsupported HP stream version 9"));
  EXPECT_TRUE(contains(with(6, 1), "reserved header byte is not zero"));
  EXPECT_TRUE(contains(with(28, 0), "bad HP header: group_rows: must divide block_rows = 2, got 0"));
  EXPECT_TRUE(contains(with(30, 0), "bad HP header: ports_per_bank: must be in 1..65535, got 0"));
  EXPECT_TRUE(contains(with(16, 3), "is not a multiple of the 3 x 8 block"));
  EXPECT_TRUE(contains(with(18, 0), "bad HP header: block_cols: must be in 1..256, got 0"));
  EXPECT_TRUE(contains(with(22, 5), "nnz_per_row 5 exceeds 4, the most distinct banks"));
  EXPECT_TRUE(contains(with(24, 3), "3 kept blocks but the matrix has 2"));
  EXPECT_TRUE(contains(with(32, 0x03), "w.hp: byte 32: the block map marks 2 blocks, the header says 1"));
  EXPECT_TRUE(
      contains(with(32, 0x06), "padding bits after the block map are not zero"));  // bit 2 is past T = 2
  // Offsets byte 0 = 0x11: {1, 2}. 0x0A = 010 | 001 << 3: offsets 2 then 1.
  EXPECT_TRUE(
      contains(with(37, 0x0A), "kept block 0 (id 1) row 0: offsets not strictly ascending (2 then 1)"));
  // 0x29 = 001 | 101 << 3: cols 1 and 5, both bank 1 of 4.
  EXPECT_TRUE(contains(with(37, 0x29), "row 0: offset 5 repeats bank 1 (bank conflict)"));
  EXPECT_TRUE(contains(with(38, 0x1E), "padding bits after the offsets are not zero"));
  // Row 1's offsets {2, 7} (0x0E91 = 001 | 010 << 3 | 010 << 6 | 111 << 9) are bank-distinct on their own,
  // but rows 0 and 1 processed together (group_rows 2 at byte 28) both read bank 2 of 1 port.
  std::vector<std::uint8_t> paired = good;
  paired[37] = 0x91;
  EXPECT_EQ(decode_hp(paired, "w.hp").offsets, (std::vector<std::uint8_t>{1, 2, 2, 7}));
  paired[28] = 2;
  EXPECT_EQ(
      error_of([&] { decode_hp(paired, "w.hp"); }),
      "w.hp: byte 33: kept block 0 rows 0..1: bank 2 holds 2 of their entries, more than the 1 reads a bank "
      "serves in a cycle (ports_per_bank) (bank conflict)");
  paired[30] = 2;  // two ports serve both reads
  EXPECT_EQ(decode_hp(paired, "w.hp").ports_per_bank, 2);
  std::vector<std::uint8_t> longer = good;
  longer.push_back(0);
  EXPECT_TRUE(contains(error_of([&] { decode_hp(longer, "w.hp"); }), "need 7 bytes, the stream has 8"));

  // Offsets at or above block_cols: block_cols 6 uses 3-bit offsets, which can say 6 or 7.
  HpMatrix x = sample();
  x.cols = 12;
  x.block_cols = 6;
  x.offsets = {1, 2, 0, 5};
  std::vector<std::uint8_t> b = encode_hp(x);
  b.back() = static_cast<std::uint8_t>(b.back() | 0x0E);  // last offset 5 -> 7
  EXPECT_TRUE(contains(error_of([&] { decode_hp(b, "w6"); }), "offset 7 is not below block_cols = 6"));
}

TEST(HpDecode, RandomCorruptionIsRejectedOrValid) {
  std::mt19937 rng(3);
  int rejected = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    const HpParams p = params(2, 8, 4, 0.7);
    std::vector<std::uint8_t> b = encode_hp(prune_hp(random_matrix(4, 32, rng), p));
    b[rng() % b.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
    try {
      ASSERT_EQ(validate_hp(decode_hp(b, "fuzz")), "");
    } catch (const InputError&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 300);
}

TEST(HpEncode, RejectsAnInvalidMatrix) {
  HpMatrix x = sample();
  x.offsets = {1, 5, 0, 7};  // 1 and 5 share bank 1
  EXPECT_EQ(validate_hp(x), "offsets: kept block 0 row 0 slot 1: column 5 repeats bank 1");
  EXPECT_THROW(encode_hp(x), std::invalid_argument);
}

}  // namespace
}  // namespace tacsim::sparsity
