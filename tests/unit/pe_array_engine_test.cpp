// PeArrayEngine: hand-derived cycle counts, and the differential test against the clock-by-clock step model.
#include <gtest/gtest.h>

#include <algorithm>

#include "modules/common/rng.h"
#include "modules/pe_array/pe_array_engine.h"
#include "modules/pe_array/pe_array_step_model.h"

namespace tacsim::pe_array {
namespace {

Params small(std::uint32_t rows, std::uint32_t cols, std::uint32_t lanes, bool two_sets = false) {
  Params p;
  p.overlap_drain = two_sets;
  p.rows = rows;
  p.cols = cols;
  p.macs_per_pe = lanes;
  p.select_latency_cycles = 1;
  p.multiply_latency_cycles = 1;
  p.adder_tree_latency_cycles = 1;
  p.accumulate_latency_cycles = 1;
  return p;
}

TEST(PeArrayEngine, SingleDenseTile) {
  PeArrayEngine e(small(4, 4, 1));
  e.begin_tile({4, 4, 8, false});
  // 8 steps from cycle 0: the last issues at 7.
  EXPECT_EQ(e.issue_chunk(0, 8, nullptr), 7u);
  EXPECT_EQ(e.end_tile(), 7u);
  // done = e + Rt + Ct + P - 1 = 7 + 4 + 4 + 3 (multiply, tree, accumulate) - 1 = 17
  EXPECT_EQ(e.drain_tile(0), 17u);
  EXPECT_EQ(e.counters().macs, 8u * 16);
}

TEST(PeArrayEngine, PartialLastStepCountsOnlyRealMacs) {
  PeArrayEngine e(small(2, 2, 4));
  e.begin_tile({2, 2, 3, false});
  EXPECT_EQ(e.issue_chunk(0, 10, nullptr), 2u);  // ceil(10 / 4) = 3 steps
  EXPECT_EQ(e.counters().macs, 10u * 4);         // 10 weights per column x 2 x 2 outputs
}

TEST(PeArrayEngine, ShortTilesWaitForTheColumnPorts) {
  PeArrayEngine e(small(4, 4, 1));
  e.begin_tile({4, 4, 2, false});
  EXPECT_EQ(e.issue_chunk(0, 2, nullptr), 1u);
  e.end_tile();
  EXPECT_EQ(e.drain_tile(0), 11u);  // 1 + 4 + 4 + 3 - 1
  // Next tile, S = 2: its last step may not come before e_prev + Rt_prev = 1 + 4 = 5, so its first issues at
  // 5 - (2 - 1) = 4 instead of 2: two drain-stall cycles.
  e.begin_tile({4, 4, 2, false});
  EXPECT_EQ(e.issue_chunk(0, 2, nullptr), 5u);
  EXPECT_EQ(e.first_issue(), 4u);
  e.end_tile();
  EXPECT_EQ(e.drain_tile(0), 15u);  // 5 + 4 + 4 + 3 - 1
  EXPECT_EQ(e.counters().drain_stall_cycles, 2u);
}

TEST(PeArrayEngine, OperandAndOutputStalls) {
  PeArrayEngine e(small(2, 2, 1));
  e.begin_tile({2, 2, 4, false});
  // Operands ready at 10, output half free at 6: 6 cycles charged to the output half, 4 to the operands.
  EXPECT_EQ(e.issue_chunk(10, 4, nullptr, 6), 13u);
  EXPECT_EQ(e.counters().out_stall_cycles, 6u);
  EXPECT_EQ(e.counters().operand_stall_cycles, 4u);
  e.end_tile();
  EXPECT_EQ(e.drain_tile(6), 13u + 2 + 2 + 3 - 1);
}

TEST(PeArrayEngine, SparseTileAddsTheSelectorStage) {
  PeArrayEngine e(small(4, 4, 2));
  // 2:4 over K = 16: 4 groups x 2 kept = 8 slots per column, 2 lanes: 4 steps.
  EXPECT_EQ(e.steps_for(8), 4u);
  e.begin_tile({4, 4, 4, true});
  EXPECT_EQ(e.issue_chunk(0, 8, nullptr), 3u);
  e.end_tile();
  // done = 3 + 4 + 4 + P - 1 with P = select 1 + multiply 1 + tree 1 + accumulate 1 = 4: 14
  EXPECT_EQ(e.drain_tile(0), 14u);
}

TEST(PeArrayEngine, ModeSwitchDrainsThePipeline) {
  PeArrayEngine e(small(2, 2, 1));
  e.begin_tile({2, 2, 3, true});
  EXPECT_EQ(e.issue_chunk(0, 3, nullptr), 2u);
  e.end_tile();
  EXPECT_EQ(e.drain_tile(0), 2u + 2 + 2 + 4 - 1);  // 9
  e.begin_tile({2, 2, 3, false});
  // A dense tile after a sparse one starts at the sparse tile's done cycle, 9.
  EXPECT_EQ(e.issue_chunk(0, 3, nullptr), 11u);
}

TEST(PeArrayEngine, TwoSetsLetTheNextTileComputeWhileOneWaitsForItsOutputHalf) {
  PeArrayEngine e(small(4, 4, 1, true));
  // Tile 0: 8 steps at 0..7. Its output half is free only at 20: it waits in set 0, d = 20,
  // done = 20 + 4 + 4 + 3 - 1 = 30.
  e.begin_tile({4, 4, 8, false});
  EXPECT_EQ(e.issue_chunk(0, 8, nullptr), 7u);
  EXPECT_EQ(e.end_tile(), 7u);
  // Tile 1 computes in set 1 meanwhile, at 8..15, without waiting for tile 0's drain.
  EXPECT_TRUE(e.can_begin({4, 4, 8, false}));
  e.begin_tile({4, 4, 8, false});
  EXPECT_EQ(e.issue_chunk(0, 8, nullptr), 15u);
  e.end_tile();
  EXPECT_EQ(e.counters().out_stall_cycles, 0u);
  // Tile 2 needs set 0 back: not before tile 0 has been drained.
  EXPECT_FALSE(e.can_begin({4, 4, 8, false}));
  EXPECT_EQ(e.drain_tile(20), 30u);
  // Tile 1's half is free at once, but its outputs may not meet tile 0's on the column ports:
  // d = max(15, 0, 20 + Rt 4) = 24, done = 24 + 10 = 34.
  EXPECT_EQ(e.drain_tile(0), 34u);
  // Tile 2 issues at d_0 + 1 = 21 (set 0 read by tile 0's drain token at 20 + i + j + P - 1): 5 cycles
  // after 16, charged to the output half that held tile 0's drain.
  e.begin_tile({4, 4, 8, false});
  EXPECT_EQ(e.issue_chunk(0, 8, nullptr), 28u);
  EXPECT_EQ(e.first_issue(), 21u);
  EXPECT_EQ(e.counters().out_stall_cycles, 5u);
  e.end_tile();
  // Tile 3 waits for set 1, free at d_1 + 1 = 25 < 29: no stall. Tile 2's drain: max(28, 0, 24 + 4) = 28.
  EXPECT_EQ(e.drain_tile(0), 38u);
  e.begin_tile({4, 4, 8, false});
  EXPECT_EQ(e.issue_chunk(0, 8, nullptr), 36u);
  EXPECT_EQ(e.counters().out_stall_cycles + e.counters().drain_stall_cycles, 5u);
}

TEST(PeArrayEngine, TwoSetsKeepShortTilesApartAtTheDrain) {
  PeArrayEngine e(small(4, 4, 1, true));
  // S = 2 < Rt = 4: tiles issue back to back, and their drains are spaced Rt apart instead.
  e.begin_tile({4, 4, 2, false});
  EXPECT_EQ(e.issue_chunk(0, 2, nullptr), 1u);
  e.end_tile();
  EXPECT_EQ(e.drain_tile(0), 11u);  // d = 1
  e.begin_tile({4, 4, 2, false});
  EXPECT_EQ(e.issue_chunk(0, 2, nullptr), 3u);
  e.end_tile();
  EXPECT_EQ(e.drain_tile(0), 15u);  // d = max(3, 1 + 4) = 5
  // Tile 2's set was read by tile 0's drain at d = 1: it issues at 4, right after tile 1.
  e.begin_tile({4, 4, 2, false});
  EXPECT_EQ(e.issue_chunk(0, 2, nullptr), 5u);
  e.end_tile();
  EXPECT_EQ(e.drain_tile(0), 19u);  // d = max(5, 5 + 4) = 9
  // Tile 3's set frees at d_1 + 1 = 6 = the next free cycle: still no bubble.
  e.begin_tile({4, 4, 2, false});
  EXPECT_EQ(e.issue_chunk(0, 2, nullptr), 7u);
  e.end_tile();
  // Tile 4's set frees at d_2 + 1 = 10: two cycles after 8, charged to the ports.
  EXPECT_EQ(e.drain_tile(0), 23u);  // d = 13
  e.begin_tile({4, 4, 2, false});
  EXPECT_EQ(e.issue_chunk(0, 2, nullptr), 11u);
  EXPECT_EQ(e.counters().drain_stall_cycles, 2u);
}

TEST(PeArrayEngine, RejectsBadParams) {
  Params p;
  p.rows = 0;
  EXPECT_EQ(p.validate(), "rows: must be at least 1, got 0");
  p = Params{};
  p.macs_per_pe = 0;
  EXPECT_EQ(p.validate(), "macs_per_pe: must be 1 to 64, got 0");
  EXPECT_EQ(Params{}.validate(), "");
}

// ---- differential test
// -------------------------------------------------------------------------------------

struct OwnedChunk {
  std::vector<std::int8_t> act, values;
  std::vector<std::uint8_t> index;
  Chunk view;
  std::uint64_t steps = 0;
  Cycle ready = 0;
};

struct RandomTile {
  TileShape shape;
  std::vector<OwnedChunk> chunks;
  Cycle out_ready = 0;
};

// Random N:M or dense chunk data for an Rt x Ct tile.
OwnedChunk random_chunk(Rng& rng, const Params& p, const TileShape& s, std::uint32_t n, std::uint32_t m,
                        Cycle ready) {
  OwnedChunk c;
  const std::uint32_t groups = 1 + rng.below(5);
  const std::uint32_t k = s.sparse ? groups * m : 1 + rng.below(20);
  const std::uint32_t slots = s.sparse ? groups * n : k;
  c.act.resize(std::size_t{s.rows} * k);
  for (auto& x : c.act) x = rng.int8();
  c.values.resize(std::size_t{s.cols} * slots);
  for (auto& x : c.values) x = rng.int8();
  if (s.sparse) {
    c.index.resize(c.values.size());
    for (std::uint32_t j = 0; j < s.cols; ++j)
      for (std::uint32_t g = 0; g < groups; ++g) {
        // N distinct ascending in-group indices out of M.
        std::vector<std::uint8_t> all(m);
        for (std::uint32_t q = 0; q < m; ++q) all[q] = static_cast<std::uint8_t>(q);
        for (std::uint32_t q = 0; q < n; ++q) std::swap(all[q], all[q + rng.below(m - q)]);
        std::sort(all.begin(), all.begin() + n);
        for (std::uint32_t q = 0; q < n; ++q) c.index[j * slots + g * n + q] = all[q];
      }
  }
  c.view = {c.act.data(), k, c.values.data(), s.sparse ? c.index.data() : nullptr, slots, slots, n, m, slots};
  c.steps = (slots + p.macs_per_pe - 1) / p.macs_per_pe;
  c.ready = ready;
  return c;
}

// Plain reference: C[i][j] = sum over chunks and slots of act[i][k(slot)] * w[j][slot].
std::vector<std::int32_t> reference(const RandomTile& t) {
  std::vector<std::int32_t> out(std::size_t{t.shape.rows} * t.shape.cols, 0);
  for (const auto& c : t.chunks)
    for (std::uint32_t i = 0; i < t.shape.rows; ++i)
      for (std::uint32_t j = 0; j < t.shape.cols; ++j)
        for (std::uint32_t q = 0; q < c.view.slots; ++q) {
          const std::uint32_t k =
              c.view.index ? (q / c.view.n) * c.view.m + c.view.index[j * c.view.index_stride + q] : q;
          out[i * t.shape.cols + j] += c.act[i * c.view.act_stride + k] * c.values[j * c.view.slots + q];
        }
  return out;
}

TEST(PeArrayEngine, FastPathEqualsStepModelOnRandomTiles) {
  Rng rng(2026);
  std::uint64_t cases = 0, tiles_checked = 0;
  for (int trial = 0; trial < 10000; ++trial) {
    Params p;
    p.rows = 1 + rng.below(6);
    p.cols = 1 + rng.below(6);
    p.macs_per_pe = 1 + rng.below(4);
    p.select_latency_cycles = rng.below(3);
    p.multiply_latency_cycles = 1 + rng.below(3);
    p.adder_tree_latency_cycles = rng.below(3);
    p.accumulate_latency_cycles = 1 + rng.below(2);
    p.overlap_drain = rng.below(2) == 1;
    ASSERT_EQ(p.validate(), "");

    std::vector<RandomTile> tiles(1 + rng.below(5));
    Cycle ready = 0;
    for (auto& t : tiles) {
      t.shape.rows = 1 + rng.below(p.rows);
      t.shape.cols = 1 + rng.below(p.cols);
      t.shape.sparse = rng.below(2) == 1;
      const std::uint32_t m = t.shape.sparse ? 1 + rng.below(8) : 1;
      const std::uint32_t n = t.shape.sparse ? 1 + rng.below(m) : 1;
      const std::uint32_t nchunks = 1 + rng.below(3);
      for (std::uint32_t c = 0; c < nchunks; ++c) {
        // Ready cycles wander: often already there, sometimes far ahead, sometimes earlier than the last.
        ready = rng.below(3) == 0 ? ready + rng.below(40) : (ready > 5 ? ready - rng.below(5) : ready);
        t.chunks.push_back(random_chunk(rng, p, t.shape, n, m, ready));
        t.shape.steps += t.chunks.back().steps;
      }
      // Output halves: often free already, sometimes late.
      t.out_ready = rng.below(3) == 0 ? ready + rng.below(60) : rng.below(10);
    }

    std::vector<StepTile> step_tiles;
    for (auto& t : tiles) {
      StepTile st{t.shape, {}, t.out_ready};
      for (auto& c : t.chunks) st.chunks.push_back({c.steps, c.ready, c.view});
      step_tiles.push_back(st);
    }
    const auto expected = run_step_model(p, step_tiles);

    // The engine as the shell drives it: a tile begins once its set is free, draining the oldest ended tiles
    // until it is.
    PeArrayEngine e(p);
    std::size_t drained = 0;
    auto drain_one = [&] {
      const std::size_t ti = drained++;
      ASSERT_EQ(e.drain_tile(tiles[ti].out_ready), expected[ti].done) << "trial " << trial << " tile " << ti;
      ASSERT_EQ(e.drained_outputs(), expected[ti].outputs) << "trial " << trial << " tile " << ti;
      ASSERT_EQ(e.drained_outputs(), reference(tiles[ti])) << "trial " << trial << " tile " << ti;
      ++tiles_checked;
    };
    for (std::size_t ti = 0; ti < tiles.size(); ++ti) {
      while (!e.can_begin(tiles[ti].shape)) ASSERT_NO_FATAL_FAILURE(drain_one());
      e.begin_tile(tiles[ti].shape);
      Cycle last = 0;
      for (auto& c : tiles[ti].chunks)
        last = e.issue_chunk(c.ready, c.view.slots, &c.view, tiles[ti].out_ready);
      ASSERT_EQ(e.first_issue(), expected[ti].first_issue) << "trial " << trial << " tile " << ti;
      ASSERT_EQ(last, expected[ti].last_issue) << "trial " << trial << " tile " << ti;
      ASSERT_EQ(e.end_tile(), expected[ti].last_issue);
    }
    while (drained < tiles.size()) ASSERT_NO_FATAL_FAILURE(drain_one());
    ++cases;
  }
  EXPECT_EQ(cases, 10000u);
  EXPECT_GT(tiles_checked, 25000u);
}

}  // namespace
}  // namespace tacsim::pe_array
