// Controller alone, with the hardware it sequences (DMA, fixed-latency memory, buffers, PE array): a
// program's loads fill the operand halves, the array runs its tile, the write-back lands in memory, and the
// run is finished when the last write-back has; on-chip blocks cost no DRAM traffic; programs run one after
// another.
#include "modules/control/controller.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "modules/buffer/buffer.h"
#include "modules/dma/dma.h"
#include "modules/hp/hp_datapath.h"
#include "modules/memory/fixed_latency_memory.h"
#include "modules/pe_array/pe_array.h"
#include "tests/support/bench_params.h"
#include "tests/support/module_bench.h"

namespace tacsim::control {
namespace {

// A = [[1, 2, 3, 4], [5, 6, 7, 8]] at `a`, W = [[1, 0, 0, 1], [-1, 1, -1, 1]] at `w` (rows of W are output
// columns), C = A . W^T (int32) to `c`: one 2 x 2 tile of 4 steps.
Program gemm(std::uint64_t a, std::uint64_t w, std::uint64_t c, bool act_on_chip = false,
             bool out_on_chip = false) {
  Program p;
  p.act_loads.push_back({{{a, 2, 4, 4, 0, act_on_chip}}, 1});
  p.weight_loads.push_back({{{w, 2, 4, 4, 0, false}}, 1});
  pe_array::TileCommand t;
  t.shape = {2, 2, 4, false};
  pe_array::ChunkCommand ch;
  ch.act_stride = 4;
  ch.weight_stride = 4;
  ch.slots = 4;
  t.chunks.push_back(ch);
  p.tiles.push_back(t);
  p.writebacks.push_back({c, 2, 8, 8, 0, out_on_chip});
  return p;
}

const std::int8_t kA[8] = {1, 2, 3, 4, 5, 6, 7, 8};
const std::int8_t kW[8] = {1, 0, 0, 1, -1, 1, -1, 1};
const std::vector<std::int32_t> kC = {1 + 4, -1 + 2 - 3 + 4, 5 + 8, -5 + 6 - 7 + 8};

struct Bench : testing_support::ModuleBench {
  memory::FixedLatencyMemory memory;
  dma::Dma dma;
  buffer::Buffer act_buffer, weight_buffer, out_buffer;
  pe_array::PeArray pe_array;
  hp::HpDatapath hp_datapath;
  Controller controller;
  BackingStore on_chip_store{1 << 20};
  std::vector<Program> programs;
  std::vector<Cycle> finished_at;
  bool queue = false;  // submit every program at once, as far as the controller takes them

  explicit Bench(const Params& params = Params{})
      : memory("memory", testing_support::small_memory()),
        dma("dma", dma::Params{}, clock),
        act_buffer("act_buffer", buffer::Params{1}, clock),
        weight_buffer("weight_buffer", buffer::Params{1}, clock),
        out_buffer("out_buffer", buffer::Params{1}, clock),
        pe_array("pe_array", testing_support::tiny_array(), clock, act_buffer, weight_buffer, out_buffer),
        hp_datapath("hp_datapath", hp::HpDatapathParams{}, clock, act_buffer, weight_buffer, out_buffer),
        controller("controller", params, clock, dma, act_buffer, weight_buffer, out_buffer, pe_array,
                   hp_datapath) {
    dma.initiator_socket.bind(memory.target_socket);
    controller.set_on_chip_store(&on_chip_store);
    pe_array.set_compute_values(true);
  }

  void put(BackingStore& store, std::uint64_t at, const std::int8_t* x) {
    store.write(at, reinterpret_cast<const std::uint8_t*>(x), 8);
  }
  std::vector<std::int32_t> get(const BackingStore& store, std::uint64_t at) const {
    std::vector<std::int32_t> c(4);
    store.read(at, reinterpret_cast<std::uint8_t*>(c.data()), 16);
    return c;
  }

  void stimulus() override {
    if (queue) {
      for (Program& p : programs)
        controller.submit(std::move(p), [this](Cycle c) { finished_at.push_back(c); });
      controller.wait_idle();
      return;
    }
    for (Program& p : programs) {
      controller.start(std::move(p));
      wait(controller.finished());
      EXPECT_TRUE(controller.done());
      finished_at.push_back(controller.finish_cycle());
    }
  }
};

TEST(ControllerModule, LoadsComputeAndWriteBackOneTile) {
  Bench b;
  b.put(b.memory.store(), 0, kA);
  b.put(b.memory.store(), 64, kW);
  b.programs.push_back(gemm(0, 64, 128));
  ASSERT_TRUE(b.run());
  // The loads are one 8-byte transaction each, issued at cycles 0 and 1: the first due 0 + latency 10 + 1 =
  // 11, the second waits for the bus, 12. The array issues its 4 steps at 12..15 and is done at 15 + 2 + 2 +
  // 3 - 1 = 21 (pe_array_engine.h). The write-back, one 16-byte transaction issued at 21, is due 21 + 10 + 1
  // = 32: the program is finished then.
  ASSERT_EQ(b.finished_at, (std::vector<Cycle>{32}));
  EXPECT_EQ(b.get(b.memory.store(), 128), kC);
  EXPECT_EQ(b.controller.stats().value("tiles_written"), 1);
  EXPECT_EQ(b.dma.engine().counters().read_bytes, 16u);
  EXPECT_EQ(b.dma.engine().counters().write_bytes, 16u);
}

TEST(ControllerModule, OnChipBlocksSkipTheDma) {
  // STA's attention: the activations are already on chip and the outputs stay there.
  Bench b;
  b.put(b.on_chip_store, 0, kA);
  b.put(b.memory.store(), 64, kW);
  b.programs.push_back(gemm(0, 64, 128, true, true));
  ASSERT_TRUE(b.run());
  // Only the weights travel: due 11, so the steps issue at 11..14, done 14 + 2 + 2 + 3 - 1 = 20, and the
  // on-chip write-back frees the out half at once.
  ASSERT_EQ(b.finished_at, (std::vector<Cycle>{20}));
  EXPECT_EQ(b.get(b.on_chip_store, 128), kC);
  EXPECT_EQ(b.get(b.memory.store(), 128), std::vector<std::int32_t>(4, 0));
  EXPECT_EQ(b.dma.engine().counters().read_bytes, 8u);
  EXPECT_EQ(b.dma.engine().counters().write_bytes, 0u);
}

// C = A . W^T to 128, then the second program's (its A at `a2`) to 4096; both submitted at once when `queue`,
// else each once the previous one has finished.
void two_programs(Bench& b, bool queue, std::uint64_t a2 = 0) {
  b.put(b.memory.store(), 0, kA);
  b.put(b.memory.store(), 64, kW);
  b.programs.push_back(gemm(0, 64, 128));
  b.programs.push_back(gemm(a2, 64, 4096));
  b.queue = queue;
  ASSERT_TRUE(b.run());
  EXPECT_EQ(b.get(b.memory.store(), 128), kC);
}

TEST(ControllerModule, ProgramsRunOneAfterAnother) {
  Bench b;
  two_programs(b, false);
  // The second starts when the first has finished, at 32, and takes as long: 32 + 32 = 64.
  ASSERT_EQ(b.finished_at, (std::vector<Cycle>{32, 64}));
  EXPECT_EQ(b.get(b.memory.store(), 4096), kC);
  EXPECT_EQ(b.controller.stats().value("tiles_written"), 2);
}

TEST(ControllerModule, OverlapLoadsTheNextProgramWhileOneRuns) {
  Bench b;
  two_programs(b, true);
  EXPECT_EQ(b.get(b.memory.store(), 4096), kC);
  // Each loader takes both programs' loads at once, into both halves: the DMA issues the act loads at cycles
  // 0 and 1 and the weight loads at 2 and 3. The first tile's operands are due 2 + 10 + 1 = 13: steps 13..16,
  // done 16 + 2 + 2 + 3 - 1 = 22, written back 22 + 11 = 33. The second's are due 14: its steps follow at
  // 17..20 (in the other accumulator set), done 26, written back from the other output half at 37.
  EXPECT_EQ(b.finished_at, (std::vector<Cycle>{33, 37}));
  EXPECT_EQ(b.controller.stats().value("overlapped_programs"), 1);
}

TEST(ControllerModule, WithoutOverlapTheNextProgramWaits) {
  Params p;
  p.overlap_operations = false;
  Bench b(p);
  two_programs(b, true);
  EXPECT_EQ(b.get(b.memory.store(), 4096), kC);
  // As ProgramsRunOneAfterAnother: the second starts at 32.
  EXPECT_EQ(b.finished_at, (std::vector<Cycle>{32, 64}));
  EXPECT_EQ(b.controller.stats().value("overlapped_programs"), 0);
}

TEST(ControllerModule, ALoadWaitsForTheWriteBackItReads) {
  // The second program's activations are the first one's outputs: bytes 128..135 of C, int32 5 and 2 as
  // int8 rows [5, 0, 0, 0] and [2, 0, 0, 0].
  Bench b;
  two_programs(b, true, 128);
  EXPECT_EQ(b.get(b.memory.store(), 4096), (std::vector<std::int32_t>{5, -5, 2, -2}));
  // Its weight load went ahead; its act load waited for the write-back that lands at 32, was issued then and
  // is due 32 + 10 + 1 = 43: steps 43..46, done 46 + 2 + 2 + 3 - 1 = 52, written back 52 + 11 = 63.
  EXPECT_EQ(b.finished_at, (std::vector<Cycle>{32, 63}));
  EXPECT_GT(b.controller.stats().value("hazard_wait_cycles").get<std::uint64_t>(), 0u);
}

TEST(ControllerModule, BlocksOverlapOnlyWhereTheyShareBytes) {
  // Tiles of one row-major matrix of 64-byte rows: 2 rows x 16 bytes at columns 0 and 16 share no byte.
  const dma::BlockMove left{1000, 2, 16, 64, 0, false}, right{1016, 2, 16, 64, 0, false};
  EXPECT_FALSE(may_overlap(left, right));
  EXPECT_TRUE(may_overlap(left, {1008, 2, 16, 64, 0, false}));
  EXPECT_FALSE(may_overlap(left, {1128, 2, 16, 64, 0, false}));  // rows 2 and 3
  // A contiguous range over both rows meets each tile; one past them meets neither.
  EXPECT_TRUE(may_overlap({1000, 1, 128, 128, 0, false}, right));
  EXPECT_FALSE(may_overlap({1128, 1, 64, 64, 0, false}, left));
}

}  // namespace
}  // namespace tacsim::control
