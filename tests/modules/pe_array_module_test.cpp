// PeArray in its SystemC shell: a stimulus fills the operand halves at chosen cycles and the test checks the
// cycles at which the array releases them and announces the finished tile, and the values it wrote.
#include <gtest/gtest.h>

#include <cstring>

#include "modules/buffer/buffer.h"
#include "modules/pe_array/pe_array.h"
#include "tests/support/bench_params.h"
#include "tests/support/module_bench.h"

namespace tacsim::pe_array {
namespace {

struct Bench : testing_support::ModuleBench {
  buffer::Buffer act_buffer, weight_buffer, out_buffer;
  PeArray pe_array;
  Cycle act_free = 0, out_full = 0;
  std::vector<std::int32_t> out;

  Bench()
      : act_buffer("act_buffer", buffer::Params{1}, clock),
        weight_buffer("weight_buffer", buffer::Params{1}, clock),
        out_buffer("out_buffer", buffer::Params{1}, clock),
        pe_array("pe_array", testing_support::tiny_array(), clock, act_buffer, weight_buffer, out_buffer) {}

  void stimulus() override {
    // A = [[1, 2, 3, 4], [5, 6, 7, 8]], W = [[1, 0, 0, 1], [-1, 1, -1, 1]] (rows of W are output columns).
    const std::int8_t a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const std::int8_t w[8] = {1, 0, 0, 1, -1, 1, -1, 1};
    TileCommand cmd;
    cmd.shape = {2, 2, 4, false};
    ChunkCommand ch;
    ch.act_stride = 4;
    ch.weight_stride = 4;
    ch.slots = 4;
    cmd.chunks.push_back(ch);
    pe_array.enqueue(cmd);

    act_buffer.start_fill(0, 8);
    weight_buffer.start_fill(0, 8);
    std::memcpy(act_buffer.data(0), a, 8);
    std::memcpy(weight_buffer.data(0), w, 8);
    clock.wait_until(5);
    act_buffer.mark_full(0, 1);
    clock.wait_until(8);
    weight_buffer.mark_full(0, 1);
    act_free = act_buffer.wait_empty(0);
    out_full = out_buffer.wait_full(0);
    out.resize(4);
    std::memcpy(out.data(), out_buffer.data(0), 16);
  }
};

TEST(PeArrayModule, OneTileTimingAndValues) {
  Bench b;
  ASSERT_TRUE(b.run());
  // Steps issue at 8..11 (weights ready at 8); the halves free at 12; done = 11 + 2 + 2 + 3 - 1 = 17.
  EXPECT_EQ(b.act_free, 12u);
  EXPECT_EQ(b.out_full, 17u);
  // C = A . W^T = [[1 + 4, -1 + 2 - 3 + 4], [5 + 8, -5 + 6 - 7 + 8]]
  EXPECT_EQ(b.out, (std::vector<std::int32_t>{5, 2, 13, 2}));
}

// Two tiles reading the same operand halves while the first one's output half is held by someone else until
// cycle 30.
struct BusyOutBench : testing_support::ModuleBench {
  buffer::Buffer act_buffer, weight_buffer, out_buffer;
  PeArray pe_array;
  Cycle act_free = 0, out_full[2] = {0, 0};

  explicit BusyOutBench(bool overlap_drain)
      : act_buffer("act_buffer", buffer::Params{1}, clock),
        weight_buffer("weight_buffer", buffer::Params{1}, clock),
        out_buffer("out_buffer", buffer::Params{1}, clock),
        pe_array("pe_array", with_overlap(overlap_drain), clock, act_buffer, weight_buffer, out_buffer) {}

  static Params with_overlap(bool on) {
    Params p = testing_support::tiny_array();
    p.overlap_drain = on;
    return p;
  }

  void stimulus() override {
    out_buffer.start_fill(0, 16);
    out_buffer.mark_full(0, 1);
    for (int t = 0; t < 2; ++t) {
      TileCommand cmd;
      cmd.shape = {2, 2, 4, false};
      cmd.out_half = t;
      ChunkCommand ch;
      ch.act_stride = 4;
      ch.weight_stride = 4;
      ch.slots = 4;
      cmd.chunks.push_back(ch);
      pe_array.enqueue(cmd);
    }
    act_buffer.start_fill(0, 8);
    weight_buffer.start_fill(0, 8);
    act_buffer.mark_full(0, 2);
    weight_buffer.mark_full(0, 2);
    clock.wait_until(30);
    out_buffer.release(0, 16);
    act_free = act_buffer.wait_empty(0);
    out_full[0] = out_buffer.wait_full(0);
    out_full[1] = out_buffer.wait_full(1);
  }
};

TEST(PeArrayModule, TwoAccumulatorSetsComputeWhileATileWaitsForItsOutputHalf) {
  BusyOutBench b(true);
  ASSERT_TRUE(b.run());
  // Tile 0 issues at 0..3 and waits in set 0 for half 0: drain at 30, done 30 + 2 + 2 + 3 - 1 = 36. Tile 1
  // computes in set 1 at 4..7 (the operand halves free at 8); its drain waits for the ports: d = 30 + 2,
  // done 38.
  EXPECT_EQ(b.act_free, 8u);
  EXPECT_EQ(b.out_full[0], 36u);
  EXPECT_EQ(b.out_full[1], 38u);
  EXPECT_EQ(b.pe_array.engine().counters().out_stall_cycles, 0u);
}

TEST(PeArrayModule, OneAccumulatorSetWaitsForTheOutputHalfBeforeItsFirstStep) {
  BusyOutBench b(false);
  ASSERT_TRUE(b.run());
  // Tile 0 waits for half 0 until 30: steps 30..33, done 33 + 6 = 39; tile 1 at 34..37, done 43.
  EXPECT_EQ(b.act_free, 38u);
  EXPECT_EQ(b.out_full[0], 39u);
  EXPECT_EQ(b.out_full[1], 43u);
  EXPECT_EQ(b.pe_array.engine().counters().out_stall_cycles, 30u);
}

}  // namespace
}  // namespace tacsim::pe_array
