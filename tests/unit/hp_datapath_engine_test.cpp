// HpDatapathEngine: params, the sparse row form, hand-derived tile timing and values, the HP headline
// (HP-pruned weights under the hp map fetch without bank conflicts, magnitude-pruned ones do not), and the
// differential test of the fast path against the clock-by-clock step model on randomized tiles.
#include "modules/hp/hp_datapath_engine.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "modules/common/error.h"
#include "modules/common/rng.h"
#include "modules/formats/hp.h"
#include "modules/formats/mask.h"
#include "workloads/sparsity/hp_pruner.h"
#include "workloads/sparsity/unstructured_pruner.h"

namespace tacsim::hp {
namespace {

using sparsity::HpMatrix;
using sparsity::HpParams;
using sparsity::Int8Matrix;
using sparsity::Mask;

std::string construction_error(const HpDatapathParams& p) {
  try {
    HpDatapathEngine engine(p);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// Plain GEMM over the CSR entries: out[t * N + n] = sum_c w[n][c] * act[c * Rt + t], in int64, then to the
// int32 the hardware keeps (the tests' shapes never leave the int32 range).
std::vector<std::int32_t> reference_gemm(const SparseRows& w, const std::vector<std::int8_t>& act,
                                         std::uint32_t tokens) {
  std::vector<std::int64_t> wide(static_cast<std::size_t>(tokens) * w.rows, 0);
  for (std::uint32_t n = 0; n < w.rows; ++n)
    for (std::uint64_t i = w.row_begin[n]; i < w.row_begin[n + 1]; ++i)
      for (std::uint32_t t = 0; t < tokens; ++t)
        wide[t * w.rows + n] += std::int64_t{w.values[i]} * act[w.columns[i] * std::size_t{tokens} + t];
  std::vector<std::int32_t> out(wide.size());
  for (std::size_t i = 0; i < wide.size(); ++i) {
    EXPECT_LE(wide[i], std::numeric_limits<std::int32_t>::max());
    EXPECT_GE(wide[i], std::numeric_limits<std::int32_t>::min());
    out[i] = static_cast<std::int32_t>(wide[i]);
  }
  return out;
}

std::vector<std::int8_t> random_acts(std::uint32_t cols, std::uint32_t tokens, Rng& rng) {
  std::vector<std::int8_t> act(static_cast<std::size_t>(cols) * tokens);
  for (std::int8_t& a : act) a = rng.int8();
  return act;
}

Int8Matrix random_matrix(int rows, int cols, Rng& rng) {
  Int8Matrix w(rows, cols);
  for (std::int8_t& v : w.data) v = rng.int8();
  return w;
}

TEST(HpDatapathParams, DefaultsAreValid) {
  EXPECT_EQ(HpDatapathParams{}.validate(), "");
}

TEST(HpDatapathParams, RejectsBadFieldsByName) {
  HpDatapathParams p;
  p.lanes = 0;
  EXPECT_EQ(p.validate(), "lanes: must be at least 1, got 0");
  EXPECT_EQ(construction_error(p), "lanes: must be at least 1, got 0");
  p = HpDatapathParams{};
  p.lanes = 4097;
  EXPECT_EQ(p.validate(), "lanes: must be at most 4096, got 4097");
  p = HpDatapathParams{};
  p.multiply_latency_cycles = 0;
  EXPECT_EQ(p.validate(), "multiply_latency_cycles: must be at least 1, got 0");
  p = HpDatapathParams{};
  p.accumulate_latency_cycles = 0;
  EXPECT_EQ(p.validate(), "accumulate_latency_cycles: must be at least 1, got 0");
  p = HpDatapathParams{};
  p.decode_latency_cycles = 70000;
  EXPECT_EQ(p.validate(), "decode_latency_cycles: must be at most 65536, got 70000");
  p = HpDatapathParams{};
  p.row_engines = 0;
  EXPECT_EQ(p.validate(), "row_engines: must be at least 1, got 0");
  p.row_engines = 257;
  EXPECT_EQ(p.validate(), "row_engines: must be at most 256, got 257");
  p.row_engines = 256;
  p.lanes = 512;
  EXPECT_EQ(p.validate(), "lanes: row_engines x lanes must be at most 65536, got 256 x 512");
  p = HpDatapathParams{};
  p.adder_tree_latency_cycles = 0;  // one lane needs no tree
  EXPECT_EQ(p.validate(), "");
  p = HpDatapathParams{};
  p.bank.banks = 0;
  EXPECT_EQ(p.validate(), "bank.banks: must be at least 1, got 0");
  EXPECT_EQ(construction_error(p), "bank.banks: must be at least 1, got 0");
  p = HpDatapathParams{};
  p.bank.ports_per_bank = 65;
  EXPECT_EQ(p.validate(), "bank.ports_per_bank: must be at most 64, got 65");
}

TEST(SparseRows, FromMaskKeepsMaskedPositionsInColumnOrder) {
  Int8Matrix w(2, 5);
  w.at(0, 1) = 7;
  w.at(0, 4) = -2;
  w.at(1, 0) = 3;
  Mask m(2, 5);
  m.set(0, 4, true);
  m.set(0, 1, true);
  m.set(1, 3, true);  // a kept position holding 0 is still an entry
  const SparseRows s = sparse_rows(w, m);
  EXPECT_EQ(s.validate(), "");
  EXPECT_EQ(s.rows, 2u);
  EXPECT_EQ(s.cols, 5u);
  EXPECT_EQ(s.row_begin, (std::vector<std::uint64_t>{0, 2, 3}));
  EXPECT_EQ(s.columns, (std::vector<std::uint32_t>{1, 4, 3}));
  EXPECT_EQ(s.values, (std::vector<std::int8_t>{7, -2, 0}));
  EXPECT_THROW(sparse_rows(w, Mask(2, 4)), InputError);
}

TEST(SparseRows, FromHpIncludesPaddingSlots) {
  // FORMATS.md's shape: 2 x 16 in 2 x 8 blocks, 4 banks. Row 1 keeps only column 15 (bank 7 mod 4 = 3), so
  // to_hp pads it with a value-0 slot at the lowest column of an unused bank: offset 0, column 8.
  Int8Matrix w(2, 16);
  w.at(0, 9) = 5;
  w.at(0, 10) = -1;
  w.at(1, 15) = 4;
  HpParams hp;
  hp.block_rows = 2;
  hp.block_cols = 8;
  hp.banks = 4;
  const HpMatrix x = sparsity::to_hp(w, sparsity::mask_of_nonzeros(w), hp);
  const SparseRows s = sparse_rows(x);
  EXPECT_EQ(s.row_begin, (std::vector<std::uint64_t>{0, 2, 4}));
  EXPECT_EQ(s.columns, (std::vector<std::uint32_t>{9, 10, 8, 15}));
  EXPECT_EQ(s.values, (std::vector<std::int8_t>{5, -1, 0, 4}));
  HpMatrix bad = x;
  bad.offsets[1] = 9;  // beyond the block
  EXPECT_THROW(sparse_rows(bad), InputError);
}

TEST(SparseRows, ValidateNamesTheBrokenField) {
  SparseRows s;
  s.rows = 1;
  s.cols = 4;
  s.row_begin = {0, 2};
  s.columns = {2, 2};
  s.values = {1, 1};
  EXPECT_EQ(s.validate(), "columns: row 0 is not strictly ascending at column 2");
  s.columns = {1, 4};
  EXPECT_EQ(s.validate(), "columns: row 0 has column 4, must be below cols = 4");
  s.columns = {1, 3};
  s.row_begin = {0, 1};
  EXPECT_EQ(s.validate(), "row_begin: must end at nnz = 2, got 1");
  s.row_begin = {0};
  EXPECT_EQ(s.validate(), "row_begin: must hold rows + 1 = 2 offsets, got 1");
}

// Two tokens, W 2 x 8 with 4-column blocks, 2 banks interleaved, 1 port, 2 lanes; decode 2, multiply 1,
// adder tree 1, accumulate 1 (L = 3).
//   row 0: columns 0, 4, 5, 6 with values 1, 2, -3, 4;  row 1: columns 0, 2 with values 5, -6.
// Walk: (r0, block 0) {0}: one wave, bank 0: 1 cycle.  (r0, block 1) {4, 5, 6}: wave {4, 5} in banks {0, 1}:
// 1 cycle, wave {6}: 1 cycle.  (r1, block 0) {0, 2}: both in bank 0: 2 cycles.  (r1, block 1): empty, 0.
HpDatapathParams hand_params() {
  HpDatapathParams p;
  p.row_engines = 1;
  p.lanes = 2;
  p.decode_latency_cycles = 2;
  p.multiply_latency_cycles = 1;
  p.adder_tree_latency_cycles = 1;
  p.accumulate_latency_cycles = 1;
  p.bank.banks = 2;
  p.bank.ports_per_bank = 1;
  p.bank.map = buffer::BankMapKind::kInterleave;
  p.bank.block_cols = 4;
  return p;
}

SparseRows hand_tile() {
  SparseRows s;
  s.rows = 2;
  s.cols = 8;
  s.row_begin = {0, 4, 6};
  s.columns = {0, 4, 5, 6, 0, 2};
  s.values = {1, 2, -3, 4, 5, -6};
  return s;
}

// act[c][0] = c + 1, act[c][1] = 2c - 5.
std::vector<std::int8_t> hand_acts() {
  std::vector<std::int8_t> act;
  for (int c = 0; c < 8; ++c) {
    act.push_back(static_cast<std::int8_t>(c + 1));
    act.push_back(static_cast<std::int8_t>(2 * c - 5));
  }
  return act;
}

class HandTile : public testing::TestWithParam<bool> {
 protected:
  TileResult run(HpDatapathEngine& e, Cycle start, const SparseRows& w, const std::vector<std::int8_t>& act,
                 std::uint32_t tokens) {
    return GetParam() ? e.run_tile_step(start, w, act.data(), tokens)
                      : e.run_tile(start, w, act.data(), tokens);
  }
};

TEST_P(HandTile, TimingCountersAndValues) {
  HpDatapathEngine e(hand_params());
  const SparseRows w = hand_tile();
  const std::vector<std::int8_t> act = hand_acts();
  const TileResult r = run(e, 10, w, act, 2);
  EXPECT_EQ(r.first_fetch, 12u);                                        // start 10 + decode 2
  EXPECT_EQ(r.round_cycles, (std::vector<std::uint32_t>{1, 1, 1, 2}));  // waves at 12, 13, 14, 15..16
  // Row 0: column 0 in block 0, then 4, 5 | 6 in block 1 (2 lanes); row 1: 0 and 2, both in bank 0.
  EXPECT_EQ(r.round_reads, (std::vector<std::uint32_t>{1, 2, 1, 2}));
  EXPECT_EQ(r.last_fetch, 16u);  // 12 + (1 + 1 + 1 + 2) - 1
  EXPECT_EQ(r.fetch_cycles, 5u);
  EXPECT_EQ(r.conflict_cycles, 1u);  // the 2-cycle wave of row 1
  EXPECT_EQ(r.done, 19u);            // last fetch 16 + multiply 1 + adder tree 1 + accumulate 1
  EXPECT_EQ(r.segments, 3u);
  EXPECT_EQ(r.waves, 4u);
  EXPECT_EQ(r.rounds, 4u);  // one engine: a round is its wave
  EXPECT_EQ(r.idle_engine_rounds, 0u);
  EXPECT_EQ(r.reads, 6u);
  EXPECT_EQ(r.macs, 12u);  // 6 reads x 2 tokens
  // t0: row 0 = 1*1 + 2*5 - 3*6 + 4*7 = 21, row 1 = 5*1 - 6*3 = -13;
  // t1: row 0 = 1*-5 + 2*3 - 3*5 + 4*7 = 14, row 1 = 5*-5 - 6*-1 = -19.
  EXPECT_EQ(r.outputs, (std::vector<std::int32_t>{21, -13, 14, -19}));
  EXPECT_EQ(r.outputs, reference_gemm(w, act, 2));
  // Lane 1 of the last wave (column 2, bank 0 behind column 0) waited 1 cycle; no other read waited.
  EXPECT_EQ(e.arbiter().lane_counters()[1].wait_cycles, 1u);
  EXPECT_EQ(e.arbiter().lane_counters()[0].wait_cycles, 0u);
  EXPECT_EQ(e.arbiter().counters().conflict_waves, 1u);
  EXPECT_EQ(e.walk_free(), 17u);

  // The same tile started at 13 is decoded by 15 but waits for the walk, free from 17.
  const TileResult r2 = run(e, 13, w, act, 2);
  EXPECT_EQ(r2.first_fetch, 17u);
  EXPECT_EQ(r2.last_fetch, 21u);                 // 17 + 5 - 1
  EXPECT_EQ(r2.done, 24u);                       // 21 + 3
  EXPECT_EQ(e.counters().walk_wait_cycles, 2u);  // 17 - 15
  EXPECT_EQ(e.counters().tiles, 2u);
  EXPECT_EQ(e.counters().fetch_cycles, 10u);
  EXPECT_EQ(e.counters().conflict_cycles, 2u);
  EXPECT_EQ(e.counters().macs, 24u);

  // A tile without entries issues nothing and is done when decoded: 30 + 2.
  SparseRows empty;
  empty.rows = 3;
  empty.cols = 8;
  empty.row_begin = {0, 0, 0, 0};
  const TileResult r3 = run(e, 30, empty, act, 2);
  EXPECT_EQ(r3.first_fetch, kNever);
  EXPECT_EQ(r3.last_fetch, kNever);
  EXPECT_EQ(r3.done, 32u);
  EXPECT_EQ(r3.outputs, std::vector<std::int32_t>(6, 0));
  EXPECT_EQ(e.walk_free(), 22u);  // unchanged by the empty tile
}

TEST_P(HandTile, WiderWavesAndPortsRemoveTheConflict) {
  // 2 ports per bank: the {0, 2} wave takes ceil(2 / 2) = 1 cycle. 4 lanes: block 1 of row 0 is one wave.
  // Waves at 12, 13, 14: last fetch 14, done 14 + 3 = 17.
  HpDatapathParams p = hand_params();
  p.bank.ports_per_bank = 2;
  p.lanes = 4;
  HpDatapathEngine e(p);
  const TileResult r = run(e, 10, hand_tile(), hand_acts(), 2);
  EXPECT_EQ(r.round_cycles, (std::vector<std::uint32_t>{1, 1, 1}));
  EXPECT_EQ(r.last_fetch, 14u);
  EXPECT_EQ(r.conflict_cycles, 0u);
  EXPECT_EQ(r.done, 17u);
  EXPECT_EQ(r.outputs, (std::vector<std::int32_t>{21, -13, 14, -19}));
}

TEST_P(HandTile, AccumulatorsWrapLikeInt32Adders) {
  // One row of 131072 entries of -128 against activations -128: 131072 * 16384 = 2^31, one past INT32_MAX,
  // which an int32 adder wraps to -2^31. Blocks of 256 with 256 lanes and 256 banks: 512 one-cycle waves.
  HpDatapathParams p;
  p.lanes = 256;
  p.bank.banks = 256;
  p.bank.block_cols = 256;
  p.bank.map = buffer::BankMapKind::kInterleave;
  HpDatapathEngine e(p);
  SparseRows w;
  w.rows = 1;
  w.cols = 131072;
  w.row_begin = {0, 131072};
  for (std::uint32_t c = 0; c < w.cols; ++c) w.columns.push_back(c);
  w.values.assign(w.cols, -128);
  const std::vector<std::int8_t> act(w.cols, -128);
  const TileResult r = run(e, 0, w, act, 1);
  EXPECT_EQ(r.outputs, (std::vector<std::int32_t>{std::numeric_limits<std::int32_t>::min()}));
  EXPECT_EQ(r.waves, 512u);       // 131072 / 256
  EXPECT_EQ(r.last_fetch, 513u);  // decode 2 + 512 waves - 1
}

TEST_P(HandTile, TwoEnginesShareEachRound) {
  // The hand tile on 2 row engines: engine 0 walks row 0, engine 1 row 1, their waves served together.
  //   round 0: e0 {0} (bank 0), e1 {0, 2} (banks 0, 0): bank 0 holds 3 reads on 1 port: 3 cycles, 12..14
  //   round 1: e0 {4, 5} (banks 0, 1), e1 done (its block 1 is empty):               1 cycle, 15
  //   round 2: e0 {6} (bank 0):                                                       1 cycle, 16
  // last fetch 16, done 16 + 3 = 19; 4 waves in 3 rounds, engine 1 idle in 2 of them.
  HpDatapathParams p = hand_params();
  p.row_engines = 2;
  HpDatapathEngine e(p);
  const TileResult r = run(e, 10, hand_tile(), hand_acts(), 2);
  EXPECT_EQ(r.first_fetch, 12u);
  EXPECT_EQ(r.round_cycles, (std::vector<std::uint32_t>{3, 1, 1}));
  EXPECT_EQ(r.last_fetch, 16u);
  EXPECT_EQ(r.done, 19u);
  EXPECT_EQ(r.conflict_cycles, 2u);
  EXPECT_EQ(r.waves, 4u);
  EXPECT_EQ(r.rounds, 3u);
  EXPECT_EQ(r.idle_engine_rounds, 2u);
  EXPECT_EQ(r.outputs, (std::vector<std::int32_t>{21, -13, 14, -19}));
  // Arbiter lanes: engine 0 on lanes 0-1, engine 1 on 2-3. In round 0, bank 0 serves lane 0 (e0), then
  // lane 2 (e1, column 0), then lane 3 (e1, column 2): waits 0, 1, 2.
  const auto& lanes = e.arbiter().lane_counters();
  ASSERT_EQ(lanes.size(), 4u);
  EXPECT_EQ(lanes[0].wait_cycles, 0u);
  EXPECT_EQ(lanes[2].wait_cycles, 1u);
  EXPECT_EQ(lanes[3].wait_cycles, 2u);
  // Two ports: round 0 takes ceil(3 / 2) = 2 cycles, 12..13; then 14 and 15; done 15 + 3 = 18.
  p.bank.ports_per_bank = 2;
  HpDatapathEngine two(p);
  const TileResult r2 = run(two, 10, hand_tile(), hand_acts(), 2);
  EXPECT_EQ(r2.round_cycles, (std::vector<std::uint32_t>{2, 1, 1}));
  EXPECT_EQ(r2.done, 18u);
  // More engines than rows: the extra engines sit every round out.
  p.row_engines = 5;
  HpDatapathEngine five(p);
  const TileResult r5 = run(five, 10, hand_tile(), hand_acts(), 2);
  EXPECT_EQ(r5.round_cycles, r2.round_cycles);
  EXPECT_EQ(r5.idle_engine_rounds, 3u * 5 - 4);
  EXPECT_EQ(r5.outputs, r2.outputs);
}

TEST_P(HandTile, RejectsMisuse) {
  HpDatapathEngine e(hand_params());
  const std::vector<std::int8_t> act = hand_acts();
  EXPECT_THROW(run(e, 10, hand_tile(), act, 0), std::invalid_argument);  // no tokens
  SparseRows bad = hand_tile();
  bad.columns[1] = 9;  // beyond cols
  EXPECT_THROW(run(e, 10, bad, act, 2), std::invalid_argument);
  EXPECT_THROW(e.run_tile(10, hand_tile(), nullptr, 2), std::invalid_argument);
  run(e, 10, hand_tile(), act, 2);
  EXPECT_THROW(run(e, 9, hand_tile(), act, 2), std::invalid_argument);  // starts before the previous tile
}

INSTANTIATE_TEST_SUITE_P(FastAndStep, HandTile, testing::Values(false, true),
                         [](const testing::TestParamInfo<bool>& info) {
                           return info.param ? "Step" : "Fast";
                         });

// The HP paper's point on one seeded 256 x 256 layer at 90 % sparsity, 16 lanes, one port per bank, the hp
// map: HP keeps k entries per row of a kept block in distinct banks, so every row segment is one
// conflict-free wave; magnitude pruning at the same density scatters entries that collide in banks.
struct Headline {
  TileResult hp, unstructured;
  std::uint64_t unstructured_extra_fetch = 0;  // check_hp_banks' count for the unstructured mask
};

Headline run_headline(int banks, int block_cols, int expect_k, std::int64_t expect_kept) {
  Rng rng(0x1cc4d2021);
  const Int8Matrix w = random_matrix(256, 256, rng);
  const std::uint32_t tokens = 4;
  const std::vector<std::int8_t> act = random_acts(256, tokens, rng);

  HpParams hp;
  hp.block_rows = 16;
  hp.block_cols = block_cols;
  hp.banks = banks;
  hp.target_sparsity = 0.9;
  sparsity::HpPlan plan;
  const HpMatrix x = sparsity::prune_hp(w, hp, &plan);
  EXPECT_EQ(plan.nnz_per_row, expect_k);
  EXPECT_EQ(plan.kept_blocks, expect_kept);
  const SparseRows hp_rows = sparse_rows(x);

  HpDatapathParams p;
  p.row_engines = 1;
  p.lanes = 16;  // >= nnz_per_row
  p.bank.banks = static_cast<std::uint32_t>(banks);
  p.bank.ports_per_bank = 1;
  p.bank.block_cols = static_cast<std::uint32_t>(block_cols);
  p.bank.map = buffer::BankMapKind::kHp;

  Headline h;
  HpDatapathEngine fast(p), step(p);
  h.hp = fast.run_tile(0, hp_rows, act.data(), tokens);
  EXPECT_EQ(step.run_tile_step(0, hp_rows, act.data(), tokens), h.hp);
  EXPECT_EQ(h.hp.reads, static_cast<std::uint64_t>(expect_kept) * 16 * expect_k);  // blocks x rows x k
  EXPECT_EQ(h.hp.outputs, reference_gemm(hp_rows, act, tokens));

  // Unstructured magnitude pruning keeping exactly as many entries.
  const double density = static_cast<double>(hp_rows.nnz()) / (256.0 * 256.0);
  const Mask um = sparsity::prune_unstructured(w, density);
  const SparseRows u_rows = sparse_rows(w, um);
  EXPECT_EQ(u_rows.nnz(), hp_rows.nnz());
  HpDatapathEngine fast_u(p), step_u(p);
  h.unstructured = fast_u.run_tile(0, u_rows, act.data(), tokens);
  EXPECT_EQ(step_u.run_tile_step(0, u_rows, act.data(), tokens), h.unstructured);
  EXPECT_EQ(h.unstructured.outputs, reference_gemm(u_rows, act, tokens));
  // With no segment wider than the 16 lanes, each segment is one wave, and with one port its conflict
  // cycles are the sparsity library's independent count (busiest bank - 1 per segment).
  EXPECT_EQ(h.unstructured.waves, h.unstructured.segments);
  h.unstructured_extra_fetch = sparsity::check_hp_banks(um, hp).extra_fetch_cycles;
  return h;
}

TEST(HpDatapathEngine, HpPrunedWeightsFetchWithoutBankConflicts) {
  // 8 banks, 16 x 16 blocks (HpParams' defaults): k = max(round(0.1^0.5 * 16), ceil(1.6)) = 5,
  // kept blocks = round(0.1 * 256 * 16 / 5) = 82 of 256 (hp.h). Columns c and c + 8 of a block share a bank.
  const Headline h = run_headline(8, 16, 5, 82);
  EXPECT_EQ(h.hp.conflict_cycles, 0u);
  EXPECT_EQ(h.hp.fetch_cycles, 82u * 16);  // one cycle per row segment of a kept block
  EXPECT_GT(h.unstructured.conflict_cycles, 0u);
  EXPECT_EQ(h.unstructured.conflict_cycles, h.unstructured_extra_fetch);
  EXPECT_GT(h.unstructured.fetch_cycles, h.hp.fetch_cycles);
}

TEST(HpDatapathEngine, HpPrunedWeightsFetchWithoutBankConflicts16Banks) {
  // 16 banks, 16 x 32 blocks: k = max(round(0.1^0.5 * 32), ceil(3.2)) = 10, kept blocks =
  // round(0.1 * 128 * 32 / 10) = 41 of 128. Columns c and c + 16 of a block share a bank.
  const Headline h = run_headline(16, 32, 10, 41);
  EXPECT_EQ(h.hp.conflict_cycles, 0u);
  EXPECT_EQ(h.hp.fetch_cycles, 41u * 16);
  EXPECT_GT(h.unstructured.conflict_cycles, 0u);
  EXPECT_EQ(h.unstructured.conflict_cycles, h.unstructured_extra_fetch);
  EXPECT_GT(h.unstructured.fetch_cycles, h.hp.fetch_cycles);
}

TEST(HpDatapathEngine, BanksEqualToBlockWidthNeverConflictWithinASegment) {
  // 16 banks, 16 x 16 blocks: the hp map is c mod 16, so the 16 columns of a block are in 16 distinct banks
  // and no mask can conflict inside a segment. Unstructured weights still take more fetch cycles: their
  // entries spread over more row segments than HP's 82 x 16 (k = 5, kept blocks 82, as with 8 banks).
  const Headline h = run_headline(16, 16, 5, 82);
  EXPECT_EQ(h.hp.conflict_cycles, 0u);
  EXPECT_EQ(h.unstructured.conflict_cycles, 0u);
  EXPECT_EQ(h.unstructured_extra_fetch, 0u);
  EXPECT_EQ(h.hp.fetch_cycles, 82u * 16);
  EXPECT_GT(h.unstructured.fetch_cycles, h.hp.fetch_cycles);
}

// The same layer on 16 row engines reading 16 banks of 4 ports, as the defaults: HP pruned for 16 rows
// processed together keeps k = min(5, 16 x 4 / 16) = 4 and kept blocks = round(0.1 x 256 x 16 / 4) = 102, and
// fetches them in one conflict-free round per row group and kept block: 102 x 16 rows / 16 engines = 102
// rounds. Unstructured weights of the same density spread over more segments, and their engines' reads meet
// in banks.
TEST(HpDatapathEngine, RowEnginesReadTogetherWithoutConflictsUnderHp) {
  Rng rng(0x1cc4d2021);
  const Int8Matrix w = random_matrix(256, 256, rng);
  const std::uint32_t tokens = 4;
  const std::vector<std::int8_t> act = random_acts(256, tokens, rng);
  HpDatapathParams p;  // 16 engines x 8 lanes, 16 banks x 4 ports, the hp map over 16 columns
  ASSERT_EQ(p.row_engines, 16u);
  ASSERT_EQ(p.bank.banks, 16u);
  ASSERT_EQ(p.bank.ports_per_bank, 4u);
  HpParams hp;
  hp.banks = 16;
  hp.group_rows = 16;
  hp.ports_per_bank = 4;
  sparsity::HpPlan plan;
  const SparseRows hp_rows = sparse_rows(sparsity::prune_hp(w, hp, &plan));
  EXPECT_EQ(plan.nnz_per_row, 4);
  EXPECT_EQ(plan.kept_blocks, 102);
  HpDatapathEngine fast(p), step(p);
  const TileResult r = fast.run_tile(0, hp_rows, act.data(), tokens);
  EXPECT_EQ(step.run_tile_step(0, hp_rows, act.data(), tokens), r);
  EXPECT_EQ(r.outputs, reference_gemm(hp_rows, act, tokens));
  EXPECT_EQ(r.rounds, 102u);
  EXPECT_EQ(r.conflict_cycles, 0u);
  EXPECT_EQ(r.idle_engine_rounds, 0u);
  EXPECT_EQ(r.waves, 102u * 16);

  const Mask um = sparsity::prune_unstructured(w, static_cast<double>(hp_rows.nnz()) / (256.0 * 256.0));
  const SparseRows u_rows = sparse_rows(w, um);
  HpDatapathEngine fast_u(p), step_u(p);
  const TileResult u = fast_u.run_tile(0, u_rows, act.data(), tokens);
  EXPECT_EQ(step_u.run_tile_step(0, u_rows, act.data(), tokens), u);
  EXPECT_EQ(u.outputs, reference_gemm(u_rows, act, tokens));
  EXPECT_GT(u.conflict_cycles, 0u);
  EXPECT_GT(u.fetch_cycles, 2 * r.fetch_cycles);
}

// More row engines, fewer cycles, until the banks bound them. The weights are pruned once for 16 rows read
// together on 16 banks of 4 ports (k = 4, 102 kept blocks, as above), which also keeps the rule for any
// aligned group of P | 16 rows. With 4 ports a bank, P <= 16 engines' P x 4 reads of a round fit the
// 64 reads a cycle, so the fetch takes 102 x 16 / P cycles, exactly 1/P of one engine's; 32 engines cannot
// beat the banks' 6,528 / 64 = 102 cycles. With one port a bank at most 16 reads are served a cycle: every
// engine count needs at least 408 cycles, and 16 engines (a group's 64 reads, 4 in each bank) reach it.
TEST(HpDatapathEngine, FetchCyclesFallWithRowEnginesUntilTheBanksBound) {
  Rng rng(0x5ca1e);
  const Int8Matrix w = random_matrix(256, 256, rng);
  const std::uint32_t tokens = 2;
  const std::vector<std::int8_t> act = random_acts(256, tokens, rng);
  HpParams hp;
  hp.banks = 16;
  hp.group_rows = 16;
  hp.ports_per_bank = 4;
  const SparseRows rows = sparse_rows(sparsity::prune_hp(w, hp));
  ASSERT_EQ(rows.nnz(), 102u * 16 * 4);
  const std::vector<std::int32_t> expected = reference_gemm(rows, act, tokens);
  std::uint64_t previous_one_port = ~std::uint64_t{0};
  for (std::uint32_t engines : {1u, 2u, 4u, 8u, 16u, 32u}) {
    for (std::uint32_t ports : {4u, 1u}) {
      HpDatapathParams p;  // 8 lanes, 16 banks, the hp map
      p.row_engines = engines;
      p.bank.ports_per_bank = ports;
      HpDatapathEngine fast(p), step(p);
      const TileResult r = fast.run_tile(0, rows, act.data(), tokens);
      const std::string where = std::to_string(engines) + " engines, " + std::to_string(ports) + " ports";
      EXPECT_EQ(step.run_tile_step(0, rows, act.data(), tokens), r) << where;
      EXPECT_EQ(r.outputs, expected) << where;
      EXPECT_GE(r.fetch_cycles, rows.nnz() / (16 * ports)) << where;  // the banks' bound
      if (ports == 4) {
        if (engines <= 16) {
          EXPECT_EQ(r.fetch_cycles, 102u * 16 / engines) << where;
          EXPECT_EQ(r.conflict_cycles, 0u) << where;
        } else {
          EXPECT_GT(r.conflict_cycles, 0u) << where;
        }
      } else {
        EXPECT_LE(r.fetch_cycles, previous_one_port) << where;
        if (engines == 16) {
          EXPECT_EQ(r.fetch_cycles, 408u) << where;
        }
        previous_one_port = r.fetch_cycles;
      }
    }
  }
}

// A random weight tile of one of three kinds: HP-pruned (for the engine's banks and block width), magnitude
// pruned, or a random mask (kept positions may hold 0).
// HP tiles are pruned for the engines' rows processed together when the engine count divides the block rows
// (is_grouped), else row by row.
SparseRows random_tile(const HpDatapathParams& p, Rng& rng, bool& is_hp, bool& is_grouped, int& hp_k) {
  const int kind = static_cast<int>(rng.below(3));
  is_hp = kind == 0;
  hp_k = 0;
  if (is_hp) {
    HpParams hp;
    hp.block_rows = static_cast<int>(p.row_engines * (1 + rng.below(2)));
    if (rng.below(4) == 0) hp.block_rows = static_cast<int>(1 + rng.below(4));
    hp.block_cols = static_cast<int>(p.bank.block_cols);
    hp.banks = static_cast<int>(p.bank.banks);
    is_grouped = hp.block_rows % static_cast<int>(p.row_engines) == 0;
    hp.group_rows = is_grouped ? static_cast<int>(p.row_engines) : 1;
    hp.ports_per_bank = static_cast<int>(p.bank.ports_per_bank);
    if (hp_max_nnz_per_row(hp) < 1) {  // too many rows for the ports: prune row by row
      hp.group_rows = 1;
      is_grouped = p.row_engines == 1;
    }
    hp.target_sparsity = 0.3 + 0.69 * rng.uniform();
    hp.level1_share = rng.uniform();
    const int rows = hp.block_rows * static_cast<int>(1 + rng.below(3));
    const int cols = hp.block_cols * static_cast<int>(1 + rng.below(80 / hp.block_cols + 1));
    const HpMatrix x = sparsity::prune_hp(random_matrix(rows, cols, rng), hp);
    hp_k = x.nnz_per_row;
    return sparse_rows(x);
  }
  const int rows = static_cast<int>(1 + rng.below(3 * p.row_engines + 4));
  const int cols = static_cast<int>(1 + rng.below(90));
  const Int8Matrix w = random_matrix(rows, cols, rng);
  if (kind == 1) return sparse_rows(w, sparsity::prune_unstructured(w, rng.uniform()));
  Mask m(rows, cols);
  const double keep = rng.uniform();
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) m.set(r, c, rng.uniform() < keep);
  return sparse_rows(w, m);
}

// Fast path against the step model: 2,500 engine configurations (1 to 8 row engines, sometimes up to 20) x 4
// tiles back to back = 10,000 tiles, with identical results (timing, per-round cycles, counters, outputs)
// and outputs equal to the plain GEMM.
TEST(HpDatapathEngine, FastPathMatchesStepModel) {
  Rng rng(0x5eed4d);
  std::uint64_t tiles = 0, conflict_tiles = 0, waited_tiles = 0, hp_tiles = 0, hp_clean_tiles = 0,
                multi_engine_tiles = 0, idle_tiles = 0, hp_grouped_clean_tiles = 0;
  for (int config = 0; config < 2500; ++config) {
    HpDatapathParams p;
    p.row_engines = static_cast<std::uint32_t>(1 + rng.below(rng.below(5) == 0 ? 20 : 8));
    p.bank.banks = static_cast<std::uint32_t>(1 + rng.below(rng.below(4) == 0 ? 40 : 16));
    p.bank.ports_per_bank = static_cast<std::uint32_t>(1 + rng.below(3));
    p.bank.map = static_cast<buffer::BankMapKind>(rng.below(3));
    p.bank.block_cols = static_cast<std::uint32_t>(1 + rng.below(24));
    p.lanes = static_cast<std::uint32_t>(1 + rng.below(20));
    p.decode_latency_cycles = static_cast<std::uint32_t>(rng.below(6));
    p.multiply_latency_cycles = static_cast<std::uint32_t>(1 + rng.below(3));
    p.adder_tree_latency_cycles = static_cast<std::uint32_t>(rng.below(5));
    p.accumulate_latency_cycles = static_cast<std::uint32_t>(1 + rng.below(2));
    ASSERT_EQ(p.validate(), "");
    HpDatapathEngine fast(p), step(p);
    Cycle start = rng.below(50);
    for (int t = 0; t < 4; ++t) {
      bool is_hp = false, is_grouped = false;
      int hp_k = 0;
      const SparseRows w = random_tile(p, rng, is_hp, is_grouped, hp_k);
      const auto tokens = static_cast<std::uint32_t>(1 + rng.below(6));
      const std::vector<std::int8_t> act = random_acts(w.cols, tokens, rng);
      const TileResult rf = fast.run_tile(start, w, act.data(), tokens);
      const TileResult rs = step.run_tile_step(start, w, act.data(), tokens);
      const std::string where = "config " + std::to_string(config) + " tile " + std::to_string(t);
      ASSERT_EQ(rf.first_fetch, rs.first_fetch) << where;
      ASSERT_EQ(rf.last_fetch, rs.last_fetch) << where;
      ASSERT_EQ(rf.done, rs.done) << where;
      ASSERT_EQ(rf.round_cycles, rs.round_cycles) << where;
      ASSERT_EQ(rf.round_reads, rs.round_reads) << where;
      ASSERT_EQ(rf, rs) << where;
      ASSERT_EQ(fast.counters(), step.counters()) << where;
      ASSERT_EQ(fast.arbiter().counters(), step.arbiter().counters()) << where;
      ASSERT_EQ(fast.arbiter().lane_counters(), step.arbiter().lane_counters()) << where;
      ASSERT_EQ(fast.walk_free(), step.walk_free()) << where;
      ASSERT_EQ(rf.outputs, reference_gemm(w, act, tokens)) << where;
      ASSERT_EQ(rf.fetch_cycles, rf.rounds + rf.conflict_cycles) << where;
      ASSERT_EQ(rf.rounds * p.row_engines, rf.waves + rf.idle_engine_rounds) << where;
      if (rf.rounds > 0) {
        ASSERT_EQ(rf.done, rf.last_fetch + p.mac_latency_cycles()) << where;
      }
      if (is_hp && p.bank.map == buffer::BankMapKind::kHp && p.lanes >= static_cast<std::uint32_t>(hp_k)) {
        // Every non-empty segment is one wave; with the rows processed together pruned as a group, the
        // engines stay aligned and every round is conflict-free.
        ASSERT_EQ(rf.waves, rf.segments) << where;
        if (is_grouped) {
          ASSERT_EQ(rf.conflict_cycles, 0u) << where;
          ASSERT_EQ(rf.idle_engine_rounds, 0u) << where;
          hp_grouped_clean_tiles += p.row_engines > 1 ? 1 : 0;
        }
        ++hp_clean_tiles;
      }
      multi_engine_tiles += p.row_engines > 1 ? 1 : 0;
      idle_tiles += rf.idle_engine_rounds > 0 ? 1 : 0;
      ++tiles;
      hp_tiles += is_hp ? 1 : 0;
      conflict_tiles += rf.conflict_cycles > 0 ? 1 : 0;
      waited_tiles += rf.waves > 0 && rf.first_fetch > start + p.decode_latency_cycles ? 1 : 0;
      // Sometimes the next tile starts while this one is still walking, sometimes well after.
      start += rng.below(rf.fetch_cycles + 8);
    }
  }
  EXPECT_EQ(tiles, 10000u);
  // The randomization reaches the cases that matter.
  EXPECT_GT(conflict_tiles, 1000u);
  EXPECT_GT(waited_tiles, 1000u);
  EXPECT_GT(hp_tiles, 2000u);
  EXPECT_GT(hp_clean_tiles, 300u);
  EXPECT_GT(multi_engine_tiles, 7000u);
  EXPECT_GT(idle_tiles, 2000u);
  EXPECT_GT(hp_grouped_clean_tiles, 200u);
}

}  // namespace
}  // namespace tacsim::hp
