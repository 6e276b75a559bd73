// Sfu in its SystemC shell: input by DMA, the engine's cycles, output by DMA, one after the other.
#include <gtest/gtest.h>

#include "modules/dma/dma.h"
#include "modules/memory/fixed_latency_memory.h"
#include "modules/sfu/sfu.h"

namespace tacsim::sfu {
namespace {

struct Bench : sc_core::sc_module {
  SC_HAS_PROCESS(Bench);
  ClockDomain clock{1000.0};
  memory::FixedLatencyMemory memory;
  dma::Dma dma;
  Sfu sfu;
  SfuOp op;
  Cycle done = 0;

  static memory::Params mem() {
    memory::Params p;
    p.latency_cycles = 10;
    p.bytes_per_cycle = 64;
    p.capacity_mib = 1;
    return p;
  }

  explicit Bench(const sc_core::sc_module_name& name)
      : sc_module(name), memory("memory", mem()), dma("dma", dma::Params{}, clock), sfu("sfu", SfuParams{}, clock, dma) {
    dma.initiator_socket.bind(memory.target_socket);
    SC_THREAD(driver);
  }

  void driver() {
    sfu.run(op);
    done = clock.now();
    sc_core::sc_stop();
  }
};

TEST(SfuModule, InputComputeOutputInSequence) {
  Bench b("bench");
  b.op.kind = SfuKind::kSoftmax;
  b.op.rows = 4;
  b.op.row_len = 16;
  b.op.inputs = {{0, 4, 64, 64, 0}};   // 4 contiguous rows of 16 int32 scores: one 256-byte transaction
  b.op.output = {4096, 4, 16, 16, 0};  // 4 contiguous rows of 16 int8 probabilities: one 64-byte transaction
  sc_core::sc_start();
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
  memory::FixedLatencyMemory m("memory", Bench::mem());
  dma::Dma d("dma", dma::Params{}, clock);
  d.initiator_socket.bind(m.target_socket);
  Sfu s("sfu", SfuParams{}, clock, d);
  EXPECT_LT(s.compute_cycles(causal), s.compute_cycles(full));
}

}  // namespace
}  // namespace tacsim::sfu
