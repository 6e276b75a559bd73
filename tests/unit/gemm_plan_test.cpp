#include <gtest/gtest.h>

#include "modules/common/error.h"
#include "workloads/gemm.h"

namespace tacsim::workloads {
namespace {

pe_array::Params array(std::uint32_t r, std::uint32_t c, std::uint32_t lanes) {
  pe_array::Params p;
  p.rows = r;
  p.cols = c;
  p.macs_per_pe = lanes;
  return p;
}

TEST(GemmPlan, WholeReductionKeepsOneOperandResident) {
  GemmParams g{100, 70, 64};
  const auto plan = plan_gemm(g, array(32, 32, 4), 64 * 1024, 64 * 1024, 8 * 1024, layout_gemm(g));
  // ceil(100/32) = 4 m blocks x ceil(70/32) = 3 n blocks.
  EXPECT_EQ(plan.tiles.size(), 12u);
  EXPECT_EQ(plan.kc, 64u);
  // m outer moves |A| + 4|W| = 6400 + 17920 = 24320 bytes; n outer |W| + 3|A| = 4480 + 19200 = 23680: n outer
  // wins, so each W block stays resident for the 4 m blocks and A is streamed.
  EXPECT_TRUE(plan.n_outer);
  EXPECT_EQ(plan.weight_loads.size(), 3u);
  EXPECT_EQ(plan.weight_loads[0].uses, 4u);
  EXPECT_EQ(plan.act_loads.size(), 12u);
  EXPECT_EQ(plan.bytes_loaded(), 23680u);
  // Edge tiles: the last m block has 100 - 96 = 4 rows, the last n block 70 - 64 = 6 columns.
  EXPECT_EQ(plan.tiles.back().rows, 4u);
  EXPECT_EQ(plan.tiles.back().cols, 6u);
  EXPECT_EQ(plan.tiles.back().steps, 16u);  // 64 / 4 lanes
  EXPECT_EQ(plan.tiles.back().writeback.address, plan.layout.c_address + (96u * 70 + 64) * 4);
}

TEST(GemmPlan, LongReductionIsChunkedToFitHalfABuffer) {
  GemmParams g{32, 32, 1000};
  // Half of 16 KiB is 8192 bytes; 32 rows -> 256 columns per chunk, a multiple of the 4 lanes.
  const auto plan = plan_gemm(g, array(32, 32, 4), 8192, 8192, 8192, layout_gemm(g));
  EXPECT_EQ(plan.kc, 256u);
  ASSERT_EQ(plan.tiles.size(), 1u);
  ASSERT_EQ(plan.tiles[0].chunks.size(), 4u);  // 256 + 256 + 256 + 232
  EXPECT_EQ(plan.tiles[0].chunks[3].kc, 232u);
  EXPECT_EQ(plan.tiles[0].steps, 64u + 64 + 64 + 58);
}

TEST(GemmPlan, UntileableGemmNamesTheBuffer) {
  GemmParams g{64, 64, 64};
  try {
    plan_gemm(g, array(32, 32, 4), 64, 1 << 20, 1 << 20, layout_gemm(g));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "act_buffer.capacity_kib: a 32-row tile needs at least 128 bytes per half, the buffer has 64");
  }
  try {
    plan_gemm(g, array(32, 32, 4), 1 << 20, 1 << 20, 1024, layout_gemm(g));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "out_buffer.capacity_kib: a 32x32 tile of int32 outputs needs 4096 bytes per half (8 KiB in all), "
                 "the buffer has 1024 bytes per half");
  }
}

TEST(GemmPlan, ReferenceGemmSmallCase) {
  GemmParams g{2, 2, 3};
  GemmOperands ops{{1, 2, 3, -4, 5, -6}, {1, 0, -1, 2, 2, 2}};
  // C[0][0] = 1 - 3 = -2; C[0][1] = 2 + 4 + 6 = 12; C[1][0] = -4 + 6 = 2; C[1][1] = -8 + 10 - 12 = -10
  EXPECT_EQ(reference_gemm(g, ops), (std::vector<std::int32_t>{-2, 12, 2, -10}));
}

}  // namespace
}  // namespace tacsim::workloads
