// Sfu in its SystemC shell: input by DMA, the engine's cycles, output by DMA, one after the other.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "modules/dma/dma.h"
#include "modules/memory/fixed_latency_memory.h"
#include "modules/sfu/sfu.h"
#include "tests/support/bench_params.h"
#include "tests/support/module_bench.h"

namespace tacsim::sfu {
namespace {

struct Bench : testing_support::ModuleBench {
  memory::FixedLatencyMemory memory;
  dma::Dma dma;
  Sfu sfu;
  SfuOp op;
  Cycle done = 0;

  Bench()
      : memory("memory", testing_support::small_memory()),
        dma("dma", dma::Params{}, clock),
        sfu("sfu", SfuParams{}, clock, dma) {
    dma.initiator_socket.bind(memory.target_socket);
  }

  void stimulus() override {
    sfu.run(op);
    done = clock.now();
  }
};

TEST(SfuModule, InputComputeOutputInSequence) {
  Bench b;
  b.op.kind = SfuKind::kSoftmax;
  b.op.rows = 4;
  b.op.row_len = 16;
  b.op.inputs = {{0, 4, 64, 64, 0}};   // 4 contiguous rows of 16 int32 scores: one 256-byte transaction
  b.op.output = {4096, 4, 16, 16, 0};  // 4 contiguous rows of 16 int8 probabilities: one 64-byte transaction
  ASSERT_TRUE(b.run());
  // Read: one transaction issued at cycle 0, due 0 + latency 10 + 256 / 64 = 14. Compute: the engine's closed
  // form plus one (the output is complete the cycle after its last write). Write: one transaction, due
  // 10 + 64 / 64 = 11 cycles after its issue.
  const Cycle compute = SoftmaxEngine::cycles(SoftmaxParams{}, 4, 16) + 1;
  EXPECT_EQ(b.sfu.compute_cycles(b.op), compute);
  EXPECT_EQ(b.done, 14 + compute + 11);
  EXPECT_EQ(b.sfu.stats().value("ops"), 1);
  EXPECT_EQ(b.sfu.stats().value("dma_cycles"), 14u + 11u);
}

TEST(SfuModule, CausalSoftmaxIsCheaper) {
  SfuOp full, causal;
  full.kind = causal.kind = SfuKind::kSoftmax;
  full.rows = causal.rows = 64;
  full.row_len = causal.row_len = 64;
  causal.causal = true;
  ClockDomain clock(1000.0);
  memory::FixedLatencyMemory m("memory", testing_support::small_memory());
  dma::Dma d("dma", dma::Params{}, clock);
  d.initiator_socket.bind(m.target_socket);
  Sfu s("sfu", SfuParams{}, clock, d);
  EXPECT_LT(s.compute_cycles(causal), s.compute_cycles(full));
}

// One SFU with its own memory and DMA, driven by a thread of its own.
struct StreamRig : sc_core::sc_module {
  SC_HAS_PROCESS(StreamRig);
  memory::FixedLatencyMemory memory;
  dma::Dma dma;
  Sfu sfu;
  SfuOp op;
  const ClockDomain& clock;
  Cycle done = 0;
  sc_core::sc_event finished;

  StreamRig(const sc_core::sc_module_name& name, const SfuParams& p, const ClockDomain& c)
      : sc_module(name),
        memory("memory", testing_support::small_memory()),
        dma("dma", dma::Params{}, c),
        sfu("sfu", p, c, dma),
        clock(c) {
    dma.initiator_socket.bind(memory.target_socket);
    sfu.set_compute_values(true);
    SC_THREAD(driver);
  }
  void driver() {
    sfu.run(op);
    done = clock.now();
    finished.notify(sc_core::SC_ZERO_TIME);
  }
};

// Two rigs side by side in one simulation, which ends when both are done.
struct StreamBench : testing_support::ModuleBench {
  StreamRig whole, rows;
  StreamBench(const SfuParams& w, const SfuParams& r) : whole("whole", w, clock), rows("rows", r, clock) {}
  void stimulus() override {
    while (whole.done == 0 || rows.done == 0) wait(whole.finished | rows.finished);
  }
};

TEST(SfuModule, StreamingOverlapsTransfersWithComputeAndKeepsValues) {
  // GELU over 64 rows of 256 int32: as one group (stream_kib 1024) the DMA reads all 64 KiB, the unit
  // computes, the DMA writes; in groups of one row (stream_kib 1) reads, compute and writes overlap.
  SfuParams whole, rows;
  whole.stream_kib = 1024;
  rows.stream_kib = 1;
  StreamBench bench(whole, rows);
  StreamRig &a = bench.whole, &b = bench.rows;
  std::vector<std::uint8_t> in(64 * 256 * 4);
  for (std::size_t i = 0; i < in.size() / 4; ++i) {
    const std::int32_t v = static_cast<std::int32_t>(i * 37 % 8192) - 4096;  // +-4.0 at 10 fraction bits
    std::memcpy(in.data() + i * 4, &v, 4);
  }
  for (StreamRig* x : {&a, &b}) {
    x->memory.store().write(0, in.data(), in.size());
    x->op.kind = SfuKind::kGelu;
    x->op.rows = 64;
    x->op.row_len = 256;
    x->op.inputs = {{0, 64, 1024, 1024, 0}};
    x->op.output = {1 << 19, 64, 256, 256, 0};
    x->op.out_rq = {1, 3, -128, 127};
  }
  ASSERT_TRUE(bench.run());
  // One group: read 64 KiB as 16 transactions of 4 KiB on the memory's one 64-byte bus (the first transfer
  // starts at 0 + latency 10, each holds the bus 64 cycles: the last ends at 10 + 16 x 64 = 1034), compute,
  // then write 16 KiB as 4 transactions (the last ends 10 + 4 x 64 = 266 cycles after the first issue).
  const Cycle compute = VectorEngine::elementwise_cycles(VectorParams{}, ElementwiseOp::kGelu, 64 * 256) + 1;
  EXPECT_EQ(a.done, 1034 + compute + 266);
  EXPECT_LT(b.done, a.done);
  // Same values either way, and equal to the arithmetic.
  const GeluArithmetic gelu(VectorParams{});
  std::vector<std::uint8_t> out_a(64 * 256), out_b(64 * 256);
  a.memory.store().read(1 << 19, out_a.data(), out_a.size());
  b.memory.store().read(1 << 19, out_b.data(), out_b.size());
  EXPECT_EQ(out_a, out_b);
  for (std::size_t i = 0; i < out_a.size(); i += 97) {
    std::int32_t v;
    std::memcpy(&v, in.data() + i * 4, 4);
    EXPECT_EQ(static_cast<std::int8_t>(out_a[i]),
              std::clamp(Requant{1, 3, -128, 127}.apply(gelu.apply(v)), -128, 127))
        << i;
  }
}

// A chain started at once (a fused epilogue's block: residual add, then layernorm) runs its operations one
// after the other in the SFU's thread, each timed as if run alone, and records when each was done. A GELU cut
// into blocks of columns gives the values of the whole.
struct ChainBench : testing_support::ModuleBench {
  memory::FixedLatencyMemory memory;
  dma::Dma dma;
  Sfu sfu;
  std::vector<SfuOp> chain;
  SfuOp whole;
  std::vector<Cycle> done;

  ChainBench()
      : memory("memory", testing_support::small_memory()),
        dma("dma", dma::Params{}, clock),
        sfu("sfu", SfuParams{}, clock, dma) {
    dma.initiator_socket.bind(memory.target_socket);
    sfu.set_compute_values(true);
  }
  void stimulus() override {
    if (whole.rows != 0) sfu.run(whole);
    const Cycle t0 = clock.now();
    sfu.start(chain);
    EXPECT_TRUE(sfu.busy());
    while (sfu.busy()) wait(sfu.finished());
    for (Cycle c : sfu.done_cycles()) done.push_back(c - t0);
  }
};

TEST(SfuModule, AChainRunsItsOperationsInOrder) {
  ChainBench b;
  SfuOp op;
  op.kind = SfuKind::kSoftmax;
  op.rows = 4;
  op.row_len = 16;
  op.inputs = {{0, 4, 64, 64, 0}};
  op.output = {4096, 4, 16, 16, 0};
  b.chain = {op, op};
  b.chain[1].output.address = 8192;
  ASSERT_TRUE(b.run());
  // Each as InputComputeOutputInSequence: read 14, compute, write 11; the second starts when the first is
  // done.
  const Cycle one = 14 + SoftmaxEngine::cycles(SoftmaxParams{}, 4, 16) + 1 + 11;
  EXPECT_EQ(b.done, (std::vector<Cycle>{one, 2 * one}));
}

TEST(SfuModule, GeluInBlocksOfColumnsKeepsTheValues) {
  ChainBench b;
  std::vector<std::uint8_t> in(4 * 32 * 4);
  for (std::size_t i = 0; i < in.size() / 4; ++i) {
    const std::int32_t v = static_cast<std::int32_t>(i * 53 % 8192) - 4096;
    std::memcpy(in.data() + i * 4, &v, 4);
  }
  b.memory.store().write(0, in.data(), in.size());
  SfuOp g;
  g.kind = SfuKind::kGelu;
  g.rows = 4;
  g.row_len = 32;
  g.out_rq = {1, 3, -128, 127};
  b.whole = g;
  b.whole.inputs = {{0, 4, 128, 128, 0}};
  b.whole.output = {8192, 4, 32, 32, 0};
  // Columns 0..15 and 16..31 of the same rows, into the same places of another output.
  for (std::uint32_t c0 : {0u, 16u}) {
    SfuOp blk = g;
    blk.row_len = 16;
    blk.inputs = {{c0 * 4, 4, 64, 128, 0}};
    blk.output = {12288 + c0, 4, 16, 32, 0};
    b.chain.push_back(blk);
  }
  ASSERT_TRUE(b.run());
  std::vector<std::uint8_t> whole(128), blocks(128);
  b.memory.store().read(8192, whole.data(), whole.size());
  b.memory.store().read(12288, blocks.data(), blocks.size());
  EXPECT_NE(whole, std::vector<std::uint8_t>(128, 0));
  EXPECT_EQ(whole, blocks);
}

}  // namespace
}  // namespace tacsim::sfu
