#include "workloads/sparsity/format_sizes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>

#include "modules/common/error.h"
#include "tests/support/errors.h"
#include "workloads/sparsity/hp_pruner.h"

namespace tacsim::sparsity {
namespace {

using testing_support::error_of;

Int8Matrix random_matrix(int rows, int cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> value(-128, 127);
  Int8Matrix w(rows, cols);
  for (auto& v : w.data) v = static_cast<std::int8_t>(value(rng));
  return w;
}

TEST(FormatSizes, FormulasByHand) {
  const FormatSizeParams p;  // int8 values, CSR 16-bit columns + 32-bit row pointers, COO 16 + 16 bits
  EXPECT_EQ(dense_bytes(64, 64, p), 4096u);
  EXPECT_EQ(bitmap_bytes(64, 64, 410, p), 922u);  // 4096 bits = 512 B + 410 values
  EXPECT_EQ(csr_bytes(64, 64, 410, p), 1490u);    // 410 values + 410 * 2 B columns + 65 * 4 B row pointers
  EXPECT_EQ(coo_bytes(64, 64, 410, p), 2050u);    // 410 * (1 + 2 + 2)
  FormatSizeParams narrow;
  narrow.csr_col_index_bits = 12;
  narrow.csr_row_ptr_bits = 8;
  EXPECT_EQ(csr_bytes(2, 4000, 3, narrow), 11u);  // 3 values + ceil(3 * 12 / 8) = 5 + 3 row pointers of 1 B
  narrow.value_bits = 4;
  EXPECT_EQ(dense_bytes(3, 3, narrow), 5u);  // 9 * 4 bits = 36 bits -> 5 B
}

TEST(FormatSizes, IndexWidthsMustFit) {
  FormatSizeParams p;
  p.csr_col_index_bits = 8;
  EXPECT_EQ(csr_bytes(1, 256, 1, p), 1u + 1u + 8u);  // column 255 fits 8 bits
  EXPECT_EQ(error_of([&] { csr_bytes(1, 257, 1, p); }),
            "csr_col_index_bits: 8 bits cannot hold column index 256");
  p.csr_row_ptr_bits = 8;
  EXPECT_EQ(error_of([&] { csr_bytes(10, 200, 300, p); }),
            "csr_row_ptr_bits: 8 bits cannot hold row pointer 300");
  EXPECT_EQ(error_of([] { coo_bytes(70000, 4, 1, FormatSizeParams{}); }),
            "coo_row_index_bits: 16 bits cannot hold row index 69999");
}

TEST(FormatSizes, ValidateNamesTheField) {
  FormatSizeParams p;
  EXPECT_EQ(p.validate(), "");
  p.value_bits = 0;
  EXPECT_EQ(p.validate(), "value_bits: must be in 1..64 bits, got 0");
  p = FormatSizeParams{};
  p.coo_col_index_bits = 65;
  EXPECT_EQ(p.validate(), "coo_col_index_bits: must be in 1..64 bits, got 65");
  p = FormatSizeParams{};
  p.nm_m = 17;
  EXPECT_EQ(p.validate(), "nm_m: must be in 1..16, got 17");
  p = FormatSizeParams{};
  p.hp.banks = 0;
  EXPECT_EQ(p.validate(), "hp.banks: must be in 1..65535, got 0");
  EXPECT_EQ(error_of([&] { dense_bytes(1, 1, p); }), "format sizes: hp.banks: must be in 1..65535, got 0");
}

TEST(FormatSizes, OnePatternInEveryFormat) {
  FormatSizeParams p;
  p.nm_m = 4;
  p.hp.block_rows = 2;
  p.hp.block_cols = 8;
  p.hp.banks = 4;
  Mask m(2, 8);
  m.set(0, 1, true);
  m.set(0, 3, true);
  m.set(1, 6, true);
  const FormatSizes s = sizes_of(m, p);
  EXPECT_EQ(s.nnz, 3u);
  EXPECT_EQ(s.dense, 16u);
  EXPECT_EQ(s.bitmap, 5u);      // 16 bits + 3 values
  EXPECT_EQ(s.csr, 21u);        // 3 + 3 * 2 + 3 * 4
  EXPECT_EQ(s.coo, 15u);        // 3 * 5
  EXPECT_EQ(s.nm_n, 2);         // row 0 group 0 keeps 2 of 4
  EXPECT_EQ(s.nm_index, 10u);   // 2 rows * (4 values + 4 indices * 2 bits = 1 B)
  EXPECT_EQ(s.nm_bitmap, 10u);  // 2 rows * (4 values + 2 groups * 4 bits = 1 B)
  EXPECT_TRUE(s.hp_fits);
  EXPECT_EQ(s.hp_kept_blocks, 1);
  EXPECT_EQ(s.hp_nnz_per_row, 2);
  EXPECT_EQ(s.hp, 7u);  // 1 map byte + 4 values + 4 offsets * 3 bits = 2 B
  m.set(0, 5, true);    // col 5 shares bank 1 with col 1
  EXPECT_FALSE(sizes_of(m, p).hp_fits);
  p.nm_m = 3;  // does not divide 8 columns
  EXPECT_EQ(sizes_of(m, p).nm_n, 0);
}

// HP at 90 % on a BERT-base-sized projection is smaller than CSR of the same matrix, and than CSR at 90 %.
TEST(FormatSizes, HpAt90PercentIsSmallerThanCsr) {
  const Int8Matrix w = random_matrix(768, 768, 42);
  FormatSizeParams p;  // HP 16 x 16 blocks, 8 banks, share 0.5
  const std::vector<FormatSizeRow> hp = compare_formats(w, {0.9}, Pruner::kHp, p);
  ASSERT_EQ(hp.size(), 1u);
  const FormatSizes& s = hp[0].sizes;
  // T = 48 * 48 = 2304 blocks; k = round(sqrt(0.1) * 16) = 5; kept = round(0.1 * 2304 * 16 / 5) = 737;
  // nnz = 737 * 16 * 5 = 58960.
  EXPECT_EQ(s.hp_nnz_per_row, 5);
  EXPECT_EQ(s.hp_kept_blocks, 737);
  EXPECT_EQ(s.nnz, 58960u);
  EXPECT_EQ(s.hp, 88728u);       // map 2304 / 8 = 288 + 737 * (80 values + 80 * 4 bits = 40) = 88440
  EXPECT_EQ(s.csr, 179956u);     // 58960 * (1 + 2) + 769 * 4
  EXPECT_EQ(s.coo, 294800u);     // 58960 * 5
  EXPECT_EQ(s.bitmap, 132688u);  // 589824 / 8 + 58960
  EXPECT_EQ(s.dense, 589824u);
  EXPECT_EQ(s.nm_n, 5);  // each 16-wide group holds at most 5: as 5:16 it also stores the pruned blocks
  EXPECT_EQ(s.nm_index, 276480u);  // 768 * (240 values + 240 * 4 bits = 120)
  EXPECT_LT(s.hp, s.csr);
  const std::vector<FormatSizeRow> un = compare_formats(w, {0.9}, Pruner::kUnstructured, p);
  EXPECT_EQ(un[0].sizes.nnz, 58982u);   // round(0.1 * 589824)
  EXPECT_EQ(un[0].sizes.csr, 180022u);  // 58982 * 3 + 3076
  EXPECT_FALSE(un[0].sizes.hp_fits);    // unstructured masks break the bank property
  EXPECT_LT(s.hp, un[0].sizes.csr);
}

TEST(FormatSizes, TableAtSeveralSparsities) {
  const Int8Matrix w = random_matrix(64, 64, 8);
  FormatSizeParams p;
  const std::vector<FormatSizeRow> nm = compare_formats(w, {0.5, 0.75, 0.9}, Pruner::kNm, p);
  ASSERT_EQ(nm.size(), 3u);
  EXPECT_EQ(nm[0].pattern, "8:16");
  EXPECT_EQ(nm[1].pattern, "4:16");
  EXPECT_EQ(nm[2].pattern, "2:16");  // round(0.1 * 16) = 2
  EXPECT_DOUBLE_EQ(nm[2].achieved_sparsity, 0.875);
  EXPECT_EQ(nm[1].sizes.nm_n, 4);
  const std::vector<FormatSizeRow> hp = compare_formats(w, {0.5, 0.9, 0.99}, Pruner::kHp, p);
  for (const FormatSizeRow& r : hp) {
    EXPECT_TRUE(r.sizes.hp_fits);
    EXPECT_DOUBLE_EQ(r.achieved_sparsity, plan_hp(64, 64,
                                                  [&] {
                                                    HpParams q = p.hp;
                                                    q.target_sparsity = r.target_sparsity;
                                                    return q;
                                                  }())
                                              .achieved_sparsity);
  }
  const std::string table = format_size_table(hp);
  EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), 4);
  EXPECT_NE(table.find("pattern"), std::string::npos);
  EXPECT_NE(table.find("hp            0.9000"), std::string::npos) << table;
  EXPECT_EQ(error_of([&] { compare_formats(w, {1.2}, Pruner::kHp, p); }),
            "target sparsity: must be in [0, 1], got 1.200000");
}

}  // namespace
}  // namespace tacsim::sparsity
