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

TEST(GemmPlan, WholeReductionKeepsAGroupOfBlocksResident) {
  GemmParams g{100, 70, 64, {}};
  // Halves of 4 KiB hold two 32 x 64 blocks of either operand.
  const auto plan = plan_gemm(g, array(32, 32, 4), 4096, 4096, 8 * 1024, layout_gemm(g));
  // ceil(100/32) = 4 m blocks x ceil(70/32) = 3 n blocks.
  EXPECT_EQ(plan.tiles.size(), 12u);
  EXPECT_EQ(plan.chunk_groups, 64u);  // dense: a group is one weight
  // A resident in groups of 2: |A| + 2|W| = 6400 + 2 x 4480 = 15360 bytes;
  // W resident in groups of 2: |W| + 2|A| = 4480 + 2 x 6400 = 17280 bytes. A stays.
  EXPECT_FALSE(plan.n_outer);
  EXPECT_EQ(plan.resident_blocks, 2u);
  ASSERT_EQ(plan.act_loads.size(), 2u);
  EXPECT_EQ(plan.act_loads[0].blocks[0].rows, 64u);
  EXPECT_EQ(plan.act_loads[1].blocks[0].rows, 36u);       // 100 - 64
  EXPECT_EQ(plan.act_loads[0].uses, 6u);        // 2 resident blocks x 3 streamed
  EXPECT_EQ(plan.weight_loads.size(), 6u);      // 3 blocks per group, 2 groups
  EXPECT_EQ(plan.weight_loads[0].uses, 2u);
  EXPECT_EQ(plan.bytes_loaded(), 15360u);
  // The last tile: second group, n block 2, m block 3: 100 - 96 = 4 rows, 70 - 64 = 6 columns, 32 rows into
  // its act load.
  const TilePlan& last = plan.tiles.back();
  EXPECT_EQ(last.rows, 4u);
  EXPECT_EQ(last.cols, 6u);
  EXPECT_EQ(last.steps, 16u);  // 64 / 4 lanes
  EXPECT_EQ(last.chunks[0].act_offset, 32u * 64);
  EXPECT_EQ(last.writeback.address, plan.layout.c_address + (96u * 70 + 64) * 4);
}

TEST(GemmPlan, SlicesOfLargerTensorsAndInt8TransposedOutput) {
  // One head's Q.K^T in a model with hidden 96: A = Q's rows, columns 32..63 (stride 96); W = K likewise.
  GemmParams g{40, 40, 32, {}};
  GemmLayout l;
  l.a_address = 10000 + 32;
  l.a_stride = 96;
  l.w_address = 50000 + 32;
  l.w_stride = 96;
  // Int8 outputs written transposed into a matrix whose rows are 64 bytes apart.
  l.c_address = 90000;
  l.c_stride = 64;
  l.out.requant = true;
  l.out.transpose = true;
  const auto plan = plan_gemm(g, array(32, 32, 4), 1 << 20, 1 << 20, 1 << 20, l);
  for (const auto& load : plan.act_loads)
    for (const auto& b : load.blocks) {
      EXPECT_EQ(b.stride, 96u);
      EXPECT_EQ(b.row_bytes, 32u);  // only the head's columns move
      EXPECT_EQ((b.address - l.a_address) % 96, 0u);
    }
  for (const auto& load : plan.weight_loads)
    for (const auto& b : load.blocks) EXPECT_EQ(b.stride, 96u);
  ASSERT_EQ(plan.tiles.size(), 4u);
  // Tile (m 32..39, n 32..39) lands as 8 rows (its columns) of 8 int8 (its rows).
  const TilePlan& t = plan.tiles.back();
  EXPECT_EQ(t.writeback.address, 90000u + 32 * 64 + 32);
  EXPECT_EQ(t.writeback.rows, 8u);
  EXPECT_EQ(t.writeback.row_bytes, 8u);
  EXPECT_EQ(t.writeback.stride, 64u);
  const control::Program prog = to_program(plan);
  EXPECT_TRUE(prog.tiles.back().output.transpose);
  EXPECT_EQ(prog.tiles.back().output.element_bytes(), 1u);
}

TEST(GemmPlan, ResidentOperandIsTheCheaperOne) {
  GemmParams g{100, 70, 64, {}};
  // A tiny act buffer holds one A block, a large weight buffer all three W blocks: keep W, stream A once.
  const auto plan = plan_gemm(g, array(32, 32, 4), 2048, 64 * 1024, 8 * 1024, layout_gemm(g));
  EXPECT_TRUE(plan.n_outer);
  EXPECT_EQ(plan.resident_blocks, 3u);
  EXPECT_EQ(plan.bytes_loaded(), 4480u + 6400);
  EXPECT_EQ(plan.tiles[1].chunks[0].weight_offset, 32u * 64);
}

TEST(GemmPlan, LongReductionIsChunkedToFitHalfABuffer) {
  GemmParams g{32, 32, 1000, {}};
  // Half of 16 KiB is 8192 bytes; 32 rows -> 256 columns per chunk, a multiple of the 4 lanes.
  const auto plan = plan_gemm(g, array(32, 32, 4), 8192, 8192, 8192, layout_gemm(g));
  EXPECT_EQ(plan.chunk_groups, 256u);
  ASSERT_EQ(plan.tiles.size(), 1u);
  ASSERT_EQ(plan.tiles[0].chunks.size(), 4u);  // 256 + 256 + 256 + 232
  EXPECT_EQ(plan.tiles[0].chunks[3].gc, 232u);
  EXPECT_EQ(plan.tiles[0].steps, 64u + 64 + 64 + 58);
}

TEST(GemmPlan, UntileableGemmNamesTheBuffer) {
  GemmParams g{64, 64, 64, {}};
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
  GemmParams g{2, 2, 3, {}};
  GemmOperands ops{{1, 2, 3, -4, 5, -6}, {1, 0, -1, 2, 2, 2}, {}};
  // C[0][0] = 1 - 3 = -2; C[0][1] = 2 + 4 + 6 = 12; C[1][0] = -4 + 6 = 2; C[1][1] = -8 + 10 - 12 = -10
  EXPECT_EQ(reference_gemm(g, ops), (std::vector<std::int32_t>{-2, 12, 2, -10}));
}

}  // namespace
}  // namespace tacsim::workloads
