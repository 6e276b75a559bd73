// TopkUnit in its SystemC shell: Q, K, V in by DMA, the engine's head cycles, the context out by DMA, one
// after the other, or the next head's inputs read during a head's compute; the context in memory equals
// reference_topk_head, also for strided column slices; values off gives the same cycles. One simulation per
// process: each test drives its cases in turn.
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
  std::vector<bool> values;    // per op: compute values
  std::vector<bool> prefetch;  // per op: announce the next op (none when empty)
  std::vector<bool> skip;      // per op: not run, only announced (none when empty)
  std::vector<Cycle> took;     // per op: cycles run() took

  Bench()
      : memory("memory", testing_support::small_memory()),
        dma("dma", dma::Params{}, clock),
        unit("unit", unit_params(), clock, dma) {
    dma.initiator_socket.bind(memory.target_socket);
  }

  void stimulus() override {
    for (std::size_t i = 0; i < ops.size(); ++i) {
      if (i < skip.size() && skip[i]) continue;
      unit.set_compute_values(values[i]);
      const Cycle t0 = clock.now();
      const bool announce = i < prefetch.size() && prefetch[i] && i + 1 < ops.size();
      unit.run(ops[i], announce ? &ops[i + 1] : nullptr);
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
  // 1 + 1 beats per pass, codes at 6. Query 0: approx 6 -> merge (4 keys a cycle) 10 -> exact 12 -> scores
  // at 15; softmax (1 beat) s1 15, s2 17, s3 17 + 4 + 6 = 27, done 29; context 2 groups x 1 cycle at 30, 31,
  // done 34. Query 1: approx 7, merge 11, exact 13 -> 16; softmax s1 16, s2 18, s3 28, done 30; context
  // waits for the unit: 32, 33, done 36, the head's done; complete at 37. Write: one 16-byte transaction,
  // due 10 + 1 = 11 cycles after its issue (the bench's memory does not post writes).
  EXPECT_EQ(TopkAttentionEngine::cycles(p, 2, 2, 8), 36u);
  EXPECT_EQ(b.unit.compute_cycles(small), 37u);
  EXPECT_EQ(b.took[0], 13u + 37u + 11u);
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
  EXPECT_EQ(s.value("compute_cycles"), 2 * 37 + compute2);
  EXPECT_EQ(s.value("dma_cycles"), 2 * (13 + 11) + 16 + 12);
}

// Three heads of a layer, l 6, d 16: column slices of a 6 x 144 projection output [Q0 Q1 Q2 | K0 K1 K2 |
// V0 V1 V2] in the bench's memory, contexts into a 6 x 48 matrix.
struct ThreeHeads {
  static constexpr std::uint64_t kQkv = 0x2000, kCtx = 0x6000;
  static constexpr std::size_t L = 6, D = 16, kHeads = 3, kRow = 9 * D;
  std::vector<std::int8_t> qkv;
  std::vector<TopkOp> heads;

  ThreeHeads(Bench& b, Rng& rng) : qkv(random_int8(rng, L * kRow)) {
    b.put(kQkv, kRow, L, kRow, qkv);
    for (std::size_t h = 0; h < kHeads; ++h) {
      TopkOp op;
      op.l = L;
      op.d = D;
      op.q = {kQkv + h * D, L, D, kRow, 0};
      op.k = {kQkv + (kHeads + h) * D, L, D, kRow, 0};
      op.v = {kQkv + (2 * kHeads + h) * D, L, D, kRow, 0};
      op.out = {kCtx + h * D, L, D, kHeads * D, 0};
      heads.push_back(op);
    }
  }
  // Every head's context in memory, as the reference computes it from its slices.
  void expect_contexts(Bench& b, const TopkAttentionParams& p) const {
    auto slice = [&](std::size_t col) {
      std::vector<std::int8_t> x(L * D);
      for (std::size_t r = 0; r < L; ++r) std::memcpy(&x[r * D], &qkv[r * kRow + col], D);
      return x;
    };
    for (std::size_t h = 0; h < kHeads; ++h) {
      const TopkReference r = reference_topk_head(
          p, L, L, D, slice(h * D), slice((kHeads + h) * D), slice((2 * kHeads + h) * D),
          Requant::identity32(), TopkAttentionEngine::default_prob_rq(p), Requant{1, 0, -128, 127});
      EXPECT_EQ(b.get(kCtx + h * D, kHeads * D, L, D), r.context) << "head " << h;
    }
  }
};

TEST(TopkUnitModule, NextHeadsInputsArriveWhileAHeadComputes) {
  // Each run announces the next head, the last none.
  Bench b;
  Rng rng(7);
  const TopkAttentionParams p = unit_params();
  const ThreeHeads layer(b, rng);
  b.ops = layer.heads;
  b.values = {true, true, true};
  b.prefetch = {true, true, false};
  ASSERT_TRUE(b.run());
  ASSERT_EQ(b.took.size(), 3u);
  // Head 0 reads its Q, K and V (one 2-D transaction of 96 bytes each, issued 0..2, the last due 16), then
  // computes, reading head 1's inputs meanwhile, and returns with its context write issued. Heads 1 and 2
  // find their inputs on chip and the previous context written: they take the compute alone, and head 2 its
  // own write too (due 10 + 2 = 12).
  const Cycle compute = TopkAttentionEngine::cycles(p, ThreeHeads::L, ThreeHeads::L, ThreeHeads::D) + 1;
  EXPECT_EQ(b.took[0], 16u + compute);
  EXPECT_EQ(b.took[1], compute);
  EXPECT_EQ(b.took[2], compute + 12u);
  EXPECT_EQ(b.unit.stats().value("dma_cycles"), 16 + 12);
  layer.expect_contexts(b, p);
}

TEST(TopkUnitModule, AHeadOtherThanTheAnnouncedOneReadsItsOwnInputs) {
  // Head 0 announces head 1, but head 2 runs next: it waits for head 1's reads to land (issued when head 0's
  // compute began, long done) and reads its own Q, K and V behind head 0's context write, issued as head 0
  // returned (on the bus at 10 and 11; the reads issued 1..3 transfer at 12, 14 and 16, the last due 18); it
  // computes and writes (12). Then head 1 runs, unannounced, reading its inputs again (16).
  Bench b;
  Rng rng(8);
  const TopkAttentionParams p = unit_params();
  const ThreeHeads layer(b, rng);
  const std::vector<TopkOp>& h = layer.heads;
  // Bench announces ops[i + 1]: run 0 announces head 1 through a copy, then heads 2 and 1 run.
  b.ops = {h[0], h[1], h[2], h[1]};
  b.values = {true, true, true, true};
  b.prefetch = {true, false, false, false};
  b.skip = {false, true, false, false};  // ops[1] is only the announcement
  ASSERT_TRUE(b.run());
  ASSERT_EQ(b.took.size(), 3u);
  const Cycle compute = TopkAttentionEngine::cycles(p, ThreeHeads::L, ThreeHeads::L, ThreeHeads::D) + 1;
  EXPECT_EQ(b.took[0], 16u + compute);
  EXPECT_EQ(b.took[1], 18u + compute + 12u);
  EXPECT_EQ(b.took[2], 16u + compute + 12u);
  layer.expect_contexts(b, p);
}

}  // namespace
}  // namespace tacsim::sfu
