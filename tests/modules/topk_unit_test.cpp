// TopkUnit in its SystemC shell: Q, K, V in by DMA, the engine's head cycles, the context out by DMA, one
// after the other; the context in memory equals reference_topk_head, also for strided column slices; values
// off gives the same cycles. One simulation per process, so one test drives every case in turn.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "modules/common/rng.h"
#include "modules/dma/dma.h"
#include "modules/memory/fixed_latency_memory.h"
#include "modules/sfu/topk_unit.h"
#include "tests/support/bench_params.h"
#include "tests/support/module_bench.h"

namespace tacsim::sfu {
namespace {

TopkAttentionParams unit_params() {
  TopkAttentionParams p;  // defaults but for top_k, so that a 6-key head drops keys
  p.top_k = 4;
  return p;
}

struct Bench : testing_support::ModuleBench {
  memory::FixedLatencyMemory memory;
  dma::Dma dma;
  TopkUnit unit;
  std::vector<TopkOp> ops;
  std::vector<bool> values;  // per op: compute values
  std::vector<Cycle> took;   // per op: cycles run() took

  Bench()
      : memory("memory", testing_support::small_memory()),
        dma("dma", dma::Params{}, clock),
        unit("unit", unit_params(), clock, dma) {
    dma.initiator_socket.bind(memory.target_socket);
  }

  void stimulus() override {
    for (std::size_t i = 0; i < ops.size(); ++i) {
      unit.set_compute_values(values[i]);
      const Cycle t0 = clock.now();
      unit.run(ops[i]);
      took.push_back(clock.now() - t0);
    }
  }

  // Writes rows x cols int8 values at `address`, rows `stride` bytes apart.
  void put(std::uint64_t address, std::uint64_t stride, std::size_t rows, std::size_t cols,
           const std::vector<std::int8_t>& x) {
    for (std::size_t r = 0; r < rows; ++r)
      memory.store().write(address + r * stride, reinterpret_cast<const std::uint8_t*>(&x[r * cols]), cols);
  }
  std::vector<std::int8_t> get(std::uint64_t address, std::uint64_t stride, std::size_t rows,
                               std::size_t cols) {
    std::vector<std::int8_t> x(rows * cols);
    for (std::size_t r = 0; r < rows; ++r)
      memory.store().read(address + r * stride, reinterpret_cast<std::uint8_t*>(&x[r * cols]), cols);
    return x;
  }
};

std::vector<std::int8_t> random_int8(Rng& rng, std::size_t n) {
  std::vector<std::int8_t> v(n);
  for (auto& x : v) x = rng.int8();
  return v;
}

TEST(TopkUnitModule, TimingValuesStridesAndValuesOff) {
  Bench b;
  Rng rng(99);
  const TopkAttentionParams p = unit_params();

  // Op 0: l 2, d 8, contiguous rows; default requantisers. Op 1: the same with values off.
  TopkOp small;
  small.l = 2;
  small.d = 8;
  small.q = {0x000, 2, 8, 8, 0};
  small.k = {0x100, 2, 8, 8, 0};
  small.v = {0x200, 2, 8, 8, 0};
  small.out = {0x1000, 2, 8, 8, 0};
  const auto q0 = random_int8(rng, 16), k0 = random_int8(rng, 16), v0 = random_int8(rng, 16);
  b.put(0x000, 8, 2, 8, q0);
  b.put(0x100, 8, 2, 8, k0);
  b.put(0x200, 8, 2, 8, v0);

  // Op 2: head 1 of a 2-head layer, l 6, d 16. Q, K and V are column slices of one 6 x 96 projection
  // output [Q0 Q1 | K0 K1 | V0 V1] (stride 96); the context goes to columns 16..31 of a 6 x 32 matrix.
  constexpr std::uint64_t kQkv = 0x2000, kCtx = 0x4000;
  constexpr std::size_t L = 6, D = 16;
  const auto qkv = random_int8(rng, L * 96);
  b.put(kQkv, 96, L, 96, qkv);
  b.put(kCtx, 32, L, 32, std::vector<std::int8_t>(L * 32, 0x5A));  // a marker the head must not touch
  TopkOp strided;
  strided.l = L;
  strided.d = D;
  strided.q = {kQkv + 16, L, D, 96, 0};
  strided.k = {kQkv + 48, L, D, 96, 0};
  strided.v = {kQkv + 80, L, D, 96, 0};
  strided.out = {kCtx + 16, L, D, 32, 0};
  strided.score_rq = {1, 2, -100000, 100000};
  strided.ctx_rq = {1, 7, -128, 127};

  b.ops = {small, small, strided};
  b.values = {true, false, true};
  ASSERT_TRUE(b.run());
  ASSERT_EQ(b.took.size(), 3u);

  // Op 0, by hand. Read: Q, K and V are 2 contiguous rows of 8 bytes each, one 16-byte transaction per tensor
  // issued at cycles 0..2, the last due 2 + latency 10 + 1 = 13. Compute (default params, kept 2): quantiser
  // 1 + 1 beats per pass, codes at 6. Query 0: approx 6 -> merge 10, 11 -> exact 13 -> scores at 16; softmax
  // (1 beat) s1 16, s2 18, s3 18 + 4 + 6 = 28, done 30; context 2 groups x 1 cycle at 31, 32, done 35. Query
  // 1: approx 7, merge 12, 13, exact 15 -> 18; softmax s1 18, s2 20, s3 30, done 32; context 33, 34, done 37,
  // the head's done; complete at 38. Write: one 16-byte transaction, due 10 + 1 = 11 cycles after its issue.
  EXPECT_EQ(TopkAttentionEngine::cycles(p, 2, 2, 8), 37u);
  EXPECT_EQ(b.unit.compute_cycles(small), 38u);
  EXPECT_EQ(b.took[0], 13u + 38u + 11u);
  // Values off: the same cycles.
  EXPECT_EQ(b.took[1], b.took[0]);
  // Op 2: each tensor's 6 strided rows of 16 bytes are one 2-D DMA transaction of 96 bytes (2 bus cycles):
  // reads issued 0..2, due 12, 14, 16 (the bus serves them in turn); the write due 10 + 2 = 12.
  const Cycle compute2 = TopkAttentionEngine::cycles(p, L, L, D) + 1;
  EXPECT_EQ(b.took[2], 16u + compute2 + 12u);

  // Values: op 0's context (written by op 0; op 1 rewrote the unit's unchanged buffer).
  const TopkReference r0 =
      reference_topk_head(p, 2, 2, 8, q0, k0, v0, Requant::identity32(),
                          TopkAttentionEngine::default_prob_rq(p), Requant{1, 0, -128, 127});
  EXPECT_EQ(b.get(0x1000, 8, 2, 8), r0.context);
  // Op 2: the slices as the reference sees them, contiguous.
  auto slice = [&](std::size_t col) {
    std::vector<std::int8_t> x(L * D);
    for (std::size_t r = 0; r < L; ++r) std::memcpy(&x[r * D], &qkv[r * 96 + col], D);
    return x;
  };
  const TopkReference r2 = reference_topk_head(p, L, L, D, slice(16), slice(48), slice(80), strided.score_rq,
                                               TopkAttentionEngine::default_prob_rq(p), strided.ctx_rq);
  EXPECT_EQ(b.get(kCtx + 16, 32, L, D), r2.context);
  EXPECT_EQ(b.get(kCtx, 32, L, 16), std::vector<std::int8_t>(L * 16, 0x5A));  // head 0's columns
  // The context is not trivially saturated or zero.
  int in_range = 0;
  for (std::int8_t c : r2.context) in_range += c > -128 && c < 127 && c != 0;
  EXPECT_GT(in_range, 20);

  // Stats: kept = min(4, l); LUT products l * l * d, exact and S.V MACs l * kept * d per head.
  const StatsGroup& s = b.unit.stats();
  EXPECT_EQ(s.value("heads"), 3);
  EXPECT_EQ(s.value("queries"), 2 + 2 + 6);
  EXPECT_EQ(s.value("lut_products"), 2 * (2 * 2 * 8) + 6 * 6 * 16);
  EXPECT_EQ(s.value("exact_macs"), 2 * (2 * 2 * 8) + 6 * 4 * 16);
  EXPECT_EQ(s.value("sv_macs"), 2 * (2 * 2 * 8) + 6 * 4 * 16);
  EXPECT_EQ(s.value("compute_cycles"), 2 * 38 + compute2);
  EXPECT_EQ(s.value("dma_cycles"), 2 * (13 + 11) + 16 + 12);
}

}  // namespace
}  // namespace tacsim::sfu
