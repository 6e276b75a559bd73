#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "modules/common/error.h"
#include "modules/pe_array/pe_array_engine.h"
#include "workloads/gemm.h"
#include "workloads/plan_cost.h"

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
  EXPECT_EQ(plan.tiling.scheme, Tiling::Scheme::kWhole);
  // A resident in groups of 2: |A| + 2|W| = 6400 + 2 x 4480 = 15360 bytes;
  // W resident in groups of 2: |W| + 2|A| = 4480 + 2 x 6400 = 17280 bytes. A stays.
  EXPECT_FALSE(plan.tiling.w_resident);
  EXPECT_EQ(plan.tiling.resident_blocks, 2u);
  ASSERT_EQ(plan.act_loads.size(), 2u);
  EXPECT_EQ(plan.act_loads[0].blocks[0].rows, 64u);
  EXPECT_EQ(plan.act_loads[1].blocks[0].rows, 36u);  // 100 - 64
  EXPECT_EQ(plan.act_loads[0].uses, 6u);             // 2 resident blocks x 3 streamed
  EXPECT_EQ(plan.weight_loads.size(), 6u);           // 3 blocks per group, 2 groups
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
  EXPECT_TRUE(plan.tiling.w_resident);
  EXPECT_EQ(plan.tiling.resident_blocks, 3u);
  EXPECT_EQ(plan.bytes_loaded(), 4480u + 6400);
  EXPECT_EQ(plan.tiles[1].chunks[0].weight_offset, 32u * 64);
}

TEST(GemmPlan, LongReductionIsChunkedToFitHalfABuffer) {
  GemmParams g{32, 32, 1000, {}};
  // Half of 16 KiB is 8192 bytes; 32 rows -> 256 columns per chunk, a multiple of the 4 lanes.
  const auto plan = plan_gemm(g, array(32, 32, 4), 8192, 8192, 8192, layout_gemm(g));
  EXPECT_EQ(plan.tiling.chunk_groups, 256u);
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
    EXPECT_STREQ(
        e.what(),
        "act_buffer.capacity_kib: a 32-row tile needs at least 128 bytes per half, the buffer has 64");
  }
  try {
    plan_gemm(g, array(32, 32, 4), 1 << 20, 1 << 20, 1024, layout_gemm(g));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(
        e.what(),
        "out_buffer.capacity_kib: a 32x32 tile of int32 outputs needs 4096 bytes per half (8 KiB in all), "
        "the buffer has 1024 bytes per half");
  }
}

// Runs a plan by its meaning, without timing: a load fills its half once every use of the load two before it
// has been made (a program that reads sooner would deadlock the controller), a chunk multiplies what its
// halves hold (the engine's values, the shell's index decoder), a pass writes its slot as the drain path
// does, and a complete fill's write-backs carry their slots into `memory`. Checks the halves' limits on the
// way.
void run_plan(const GemmPlan& plan, const pe_array::Params& pe, const BufferHalves& h,
              std::vector<std::uint8_t>& memory) {
  const control::Program prog = to_program(plan);
  struct Side {
    const std::vector<Load>& loads;
    std::uint64_t half_bytes;
    std::vector<std::uint8_t> half[2];
    std::vector<std::uint32_t> uses;
    std::size_t next = 0;
    void fill_to(std::size_t i, const std::vector<std::uint8_t>& mem) {
      for (; next <= i; ++next) {
        ASSERT_TRUE(next < 2 || uses[next - 2] == 0) << "load " << next << " before its half is free";
        ASSERT_LE(loads[next].bytes(), half_bytes);
        std::vector<std::uint8_t>& dst = half[next % 2];
        dst.assign(half_bytes, 0);
        for (const auto& b : loads[next].blocks)
          for (std::uint32_t r = 0; r < b.rows; ++r)
            std::memcpy(dst.data() + b.local_offset + std::uint64_t{r} * b.row_bytes,
                        mem.data() + b.address + r * b.stride, b.row_bytes);
        uses.push_back(loads[next].uses);
      }
    }
  };
  Side act{prog.act_loads, h.act, {}, {}}, weight{prog.weight_loads, h.weight, {}, {}};
  std::vector<std::uint8_t> out[2] = {std::vector<std::uint8_t>(h.out), std::vector<std::uint8_t>(h.out)};
  pe_array::PeArrayEngine e(pe);
  std::vector<std::uint8_t> indices;
  std::vector<std::int32_t> scratch;
  std::size_t fill = 0, wb = 0;
  for (std::size_t t = 0; t < prog.tiles.size(); ++t) {
    const pe_array::TileCommand& cmd = prog.tiles[t];
    ASSERT_EQ(cmd.out_half, static_cast<int>(fill % 2));
    ASSERT_LE(cmd.slot.offset + cmd.out_bytes(), h.out);
    if (cmd.slot.claim) {
      ASSERT_LE(cmd.slot.fill_bytes, h.out);
    }
    e.begin_tile(cmd.shape);
    for (std::size_t c = 0; c < cmd.chunks.size(); ++c) {
      const pe_array::ChunkCommand& ch = cmd.chunks[c];
      const ChunkPlan& cp = plan.tiles[t].chunks[c];
      ASSERT_NO_FATAL_FAILURE(act.fill_to(cp.act_load, memory));
      ASSERT_NO_FATAL_FAILURE(weight.fill_to(cp.weight_load, memory));
      ASSERT_EQ(ch.act_half, static_cast<int>(cp.act_load % 2));
      ASSERT_EQ(ch.weight_half, static_cast<int>(cp.weight_load % 2));
      const pe_array::Chunk view = chunk_view(ch, cmd.shape.cols, act.half[ch.act_half].data(),
                                              weight.half[ch.weight_half].data(), indices);
      e.issue_chunk(0, ch.slots, &view);
      ASSERT_GT(act.uses[cp.act_load]--, 0u);
      ASSERT_GT(weight.uses[cp.weight_load]--, 0u);
    }
    e.end_tile();
    e.drain_tile(0);
    write_tile_outputs(cmd, e.drained_outputs(), out[cmd.out_half].data(), scratch);
    if (!cmd.slot.complete) continue;
    const std::size_t n = prog.writeback_groups.empty() ? 1 : prog.writeback_groups[fill];
    for (std::size_t w = wb; w < wb + n; ++w) {
      const auto& b = prog.writebacks[w];
      for (std::uint32_t r = 0; r < b.rows; ++r)
        std::memcpy(memory.data() + b.address + r * b.stride,
                    out[cmd.out_half].data() + b.local_offset + std::uint64_t{r} * b.row_bytes, b.row_bytes);
    }
    wb += n;
    ++fill;
  }
  EXPECT_EQ(wb, prog.writebacks.size());
  for (const Side* s : {&act, &weight})
    for (std::size_t i = 0; i < s->uses.size(); ++i) EXPECT_EQ(s->uses[i], 0u) << "load " << i << " unused";
}

// Every tiling the search may pick computes C, for shapes and buffers that reach every scheme: whole
// reductions with either operand resident, reductions split over both halves, chunked ones with and
// without partial sums, several tiles per output half, edge tiles, N:M formats whose chunks fall on byte
// and step boundaries, and an int8 transposed output stage applied after the last pass.
TEST(GemmPlan, EveryTilingComputesTheProduct) {
  struct Case {
    std::uint32_t m, n, k;
    const char* sparsity;
    std::uint64_t act, weight, out;
    bool requant_transpose;
  };
  const Case cases[] = {
      {100, 70, 256, "dense", 8192, 8192, 4096, false}, {50, 40, 1000, "2:4", 4096, 4096, 4096, false},
      {37, 45, 384, "1:4", 4096, 4096, 2048, false},    {40, 24, 480, "3:8", 2048, 2048, 4096, false},
      {48, 40, 640, "2:4", 4096, 4096, 4096, true},
  };
  pe_array::Params pe = array(16, 16, 4);
  std::set<std::string> kinds;  // scheme, resident operand, partial sums, tiles per output half
  for (const Case& c : cases) {
    GemmParams g{c.m, c.n, c.k, parse_weight_sparsity(c.sparsity)};
    const GemmOperands ops = make_operands(g, 7);
    GemmLayout layout = layout_gemm(g);
    if (c.requant_transpose) {
      layout.out.requant = true;
      layout.out.rq = calibrate_shift(100000, 127);
      layout.out.transpose = true;
      layout.c_stride = g.m;  // C^T, n rows of m int8
    }
    std::vector<std::int32_t> want = reference_gemm(g, ops);
    const BufferHalves h{c.act, c.weight, c.out};
    const auto tilings = enumerate_tilings(g, pe, h, layout);
    for (const Tiling& t : tilings) {
      SCOPED_TRACE(std::string(c.sparsity) + " " + t.describe());
      const GemmPlan plan = plan_gemm(g, pe, h, layout, t);
      kinds.insert(std::to_string(int(t.scheme)) + (t.w_resident ? "W" : "A") +
                   (t.psum_blocks > 0 ? "+psum" : "") + (t.out_tiles > 1 ? "+fill" : ""));
      std::vector<std::uint8_t> memory(layout.end, 0);
      std::memcpy(memory.data() + layout.a_address, ops.a.data(), ops.a.size());
      std::memcpy(memory.data() + layout.w_address, ops.weight_image.data(), ops.weight_image.size());
      ASSERT_NO_FATAL_FAILURE(run_plan(plan, pe, h, memory));
      for (std::uint32_t i = 0; i < g.m; ++i)
        for (std::uint32_t j = 0; j < g.n; ++j) {
          const std::int32_t ref = want[std::size_t{i} * g.n + j];
          if (c.requant_transpose) {
            ASSERT_EQ(static_cast<std::int8_t>(memory[layout.c_address + std::size_t{j} * g.m + i]),
                      layout.out.rq.apply(ref))
                << i << "," << j;
          } else {
            std::int32_t got;
            std::memcpy(&got, memory.data() + layout.c_address + (std::size_t{i} * g.n + j) * 4, 4);
            ASSERT_EQ(got, ref) << i << "," << j;
          }
        }
    }
  }
  // Every scheme came up (0 whole, 1 split, 2 chunked), with either operand resident.
  for (const char* k :
       {"0A", "0W", "0A+fill", "0W+fill", "1A", "1W", "1A+fill", "2A", "2W", "2A+psum", "2W+psum"})
    EXPECT_EQ(kinds.count(k), 1u) << k;
}

// The estimate's DRAM: one channel whose rows are 2 KiB, at the bus's 64 bytes per cycle, no latency.
MemoryModel one_channel(double act_cycles) {
  MemoryModel m;
  m.bytes_per_cycle = 64;
  m.burst_bytes = 64;
  m.channels = 1;
  m.act_cycles = act_cycles;
  m.locate = [](std::uint64_t a) { return std::make_pair(std::uint32_t{0}, a / 2048); };
  return m;
}

TEST(GemmPlan, TheEstimateChargesTheDramRowsATransferOpens) {
  // C = 64 x 512 int32: each 32 x 32 tile is written back as 32 rows of 128 bytes, 2048 bytes apart, one DRAM
  // row each; A and W are contiguous.
  GemmParams g{64, 512, 64, {}};
  const auto plan = plan_gemm(g, array(32, 32, 4), 16384, 16384, 8192, layout_gemm(g));
  MemoryModel bus;
  bus.bytes_per_cycle = 64;
  bus.burst_bytes = 64;
  // Rows that cost nothing to open: the channel is the bus.
  EXPECT_EQ(estimate_plan(plan, array(32, 32, 4), one_channel(0)).cycles,
            estimate_plan(plan, array(32, 32, 4), bus).cycles);
  // At 7.5 cycles a row, a tile's write-back takes 32 x 7.5 = 240 cycles, not its 4096 / 64 = 64: the 32
  // write-backs take at least 7680.
  const PlanCost slow = estimate_plan(plan, array(32, 32, 4), one_channel(7.5));
  EXPECT_GE(slow.cycles, 32u * 240);
  EXPECT_GT(slow.cycles, estimate_plan(plan, array(32, 32, 4), bus).cycles);
}

TEST(GemmPlan, ReferenceGemmSmallCase) {
  GemmParams g{2, 2, 3, {}};
  GemmOperands ops{{1, 2, 3, -4, 5, -6}, {1, 0, -1, 2, 2, 2}, {}};
  // C[0][0] = 1 - 3 = -2; C[0][1] = 2 + 4 + 6 = 12; C[1][0] = -4 + 6 = 2; C[1][1] = -8 + 10 - 12 = -10
  EXPECT_EQ(reference_gemm(g, ops), (std::vector<std::int32_t>{-2, 12, 2, -10}));
}

}  // namespace
}  // namespace tacsim::workloads
