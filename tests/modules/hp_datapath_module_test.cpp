// HpDatapath in its SystemC shell: it decodes the HP stream the buffer holds, starts the walk when every
// operand half is Full, frees the halves the cycle after the last fetch and announces the outputs the cycle
// after the last accumulate, exactly as the engine times them.
#include <gtest/gtest.h>

#include <cstring>

#include "modules/buffer/buffer.h"
#include "modules/common/rng.h"
#include "modules/formats/hp.h"
#include "modules/hp/hp_datapath.h"
#include "tests/support/module_bench.h"
#include "workloads/sparsity/hp_pruner.h"

namespace tacsim::hp {
namespace {

// 4 row engines of 4 lanes reading 4 banks of 4 ports.
HpDatapathParams params() {
  HpDatapathParams p;
  p.row_engines = 4;
  p.lanes = 4;
  p.bank.banks = 4;
  p.bank.ports_per_bank = 4;
  p.bank.block_cols = 16;
  p.bank.map = buffer::BankMapKind::kHp;
  return p;
}

struct Bench : testing_support::ModuleBench {
  buffer::Buffer act_buffer, weight_buffer, out_buffer;
  HpDatapath hp_datapath;
  sparsity::HpMatrix w;
  std::vector<std::uint8_t> stream;
  std::vector<std::int8_t> act;  // 64 columns x 4 tokens, column-major
  Cycle act_free = 0, out_full = 0;
  std::vector<std::int32_t> out;

  Bench()
      : act_buffer("act_buffer", buffer::Params{4}, clock),
        weight_buffer("weight_buffer", buffer::Params{4}, clock),
        out_buffer("out_buffer", buffer::Params{4}, clock),
        hp_datapath("hp_datapath", params(), clock, act_buffer, weight_buffer, out_buffer) {
    Rng rng(9);
    sparsity::Int8Matrix dense(32, 64);
    for (auto& x : dense.data) x = rng.int8();
    sparsity::HpParams hp;
    hp.block_rows = 16;
    hp.block_cols = 16;
    hp.banks = 4;
    hp.group_rows = 4;  // the rows the 4 engines walk together
    hp.ports_per_bank = 4;
    hp.target_sparsity = 0.8;
    w = sparsity::prune_hp(dense, hp);
    stream = sparsity::encode_hp(w);
    act.resize(64 * 4);
    for (auto& x : act) x = rng.int8();
  }

  void stimulus() override {
    HpTileCommand cmd;
    cmd.tokens = 4;
    cmd.rows = 32;
    cmd.cols = 64;
    cmd.weight_bytes = stream.size();
    hp_datapath.enqueue(cmd);
    act_buffer.start_fill(0, act.size());
    weight_buffer.start_fill(0, stream.size());
    std::memcpy(act_buffer.data(0), act.data(), act.size());
    std::memcpy(weight_buffer.data(0), stream.data(), stream.size());
    clock.wait_until(3);
    weight_buffer.mark_full(0, 1);
    clock.wait_until(10);
    act_buffer.mark_full(0, 1);
    act_free = act_buffer.wait_empty(0);
    out_full = out_buffer.wait_full(0);
    out.resize(4 * 32);
    std::memcpy(out.data(), out_buffer.data(0), out.size() * 4);
  }
};

TEST(HpDatapathModule, DecodesFromTheBufferAndTimesLikeTheEngine) {
  Bench b;
  ASSERT_TRUE(b.run());
  // The engine, run alone on the same tile from the cycle the last operand arrived (10).
  HpDatapathEngine ref(params());
  const TileResult r = ref.run_tile(10, sparse_rows(b.w), b.act.data(), 4);
  EXPECT_EQ(r.conflict_cycles, 0u);
  EXPECT_EQ(r.idle_engine_rounds, 0u);
  EXPECT_EQ(r.waves, 4 * r.rounds);
  EXPECT_EQ(b.act_free, r.last_fetch + 1);
  EXPECT_EQ(b.out_full, r.done + 1);
  EXPECT_EQ(b.out, r.outputs);
  // And the values against a plain product: out[t][n] = sum_c W[n][c] * act[c][t].
  const auto dense = sparsity::to_dense(b.w);
  for (int t = 0; t < 4; ++t)
    for (int n = 0; n < 32; ++n) {
      std::int32_t s = 0;
      for (int c = 0; c < 64; ++c) s += dense.at(n, c) * b.act[c * 4 + t];
      ASSERT_EQ(b.out[t * 32 + n], s) << t << "," << n;
    }
  EXPECT_EQ(b.hp_datapath.engine().counters().tiles, 1u);
}

}  // namespace
}  // namespace tacsim::hp
