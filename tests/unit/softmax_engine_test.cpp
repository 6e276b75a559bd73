// SoftmaxEngine: rejected params, hand-derived cycle counts, values against double softmax within the
// stated bound, and the differential test against the clock-by-clock SoftmaxStepModel.
#include "modules/sfu/softmax_engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "modules/common/error.h"
#include "modules/common/rng.h"

namespace tacsim::sfu {
namespace {

// Parameters with small, distinct latencies so that hand derivations can tell them apart.
SoftmaxParams small_params() {
  SoftmaxParams p;
  p.lanes = 4;
  p.max_latency_cycles = 2;
  p.exp_latency_cycles = 4;
  p.recip_latency_cycles = 6;
  p.norm_latency_cycles = 2;
  p.row_buffers = 2;
  p.row_buffer_elems = 64;
  return p;
}

std::string construction_error(const SoftmaxParams& p) {
  try {
    SoftmaxEngine engine(p);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(SoftmaxParams, DefaultsAreValid) {
  EXPECT_EQ(SoftmaxParams{}.validate(), "");
}

TEST(SoftmaxParams, RejectsBadFieldsByName) {
  SoftmaxParams p;
  p.lanes = 0;
  EXPECT_EQ(p.validate(), "lanes: must be at least 1, got 0");
  EXPECT_EQ(construction_error(p), "lanes: must be at least 1, got 0");
  p = SoftmaxParams{};
  p.recip_latency_cycles = 0;
  EXPECT_EQ(p.validate(), "recip_latency_cycles: must be at least 1, got 0");
  p = SoftmaxParams{};
  p.row_buffers = 0;
  EXPECT_EQ(p.validate(), "row_buffers: must be at least 1, got 0");
  p = SoftmaxParams{};
  p.exp_frac_bits = 25;
  EXPECT_EQ(p.validate(), "exp_frac_bits: must be at most 24, got 25");
  p = SoftmaxParams{};
  p.exp_frac_bits = 8;
  p.recip_bits = 8;
  p.prob_frac_bits = 16;
  EXPECT_EQ(p.validate(), "prob_frac_bits: must be less than exp_frac_bits + recip_bits = 16, got 16");
  p = SoftmaxParams{};
  p.exp_frac_bits = 24;
  p.recip_bits = 24;
  p.row_buffer_elems = 1u << 15;
  EXPECT_EQ(p.validate(),
            "row_buffer_elems: exp_frac_bits + recip_bits + ceil(log2(row_buffer_elems)) must be at most 62, "
            "got 63");
  EXPECT_THROW(SoftmaxStepModel{p}, InputError);
}

TEST(SoftmaxEngine, RejectsRowsThatDoNotFitASlot) {
  SoftmaxEngine engine(small_params());
  std::vector<std::int32_t> x(65, 0), y(65);
  EXPECT_THROW(engine.push_row(0, x.data(), 65, y.data()), InputError);
  EXPECT_THROW(engine.push_row(0, x.data(), 0, y.data()), InputError);
  SoftmaxTile tile;
  tile.rows = 2;
  tile.cols = 3;
  tile.scores.assign(5, 0);
  EXPECT_THROW(engine.run_tile(0, tile), InputError);
  tile.scores.assign(6, 0);
  tile.row_lengths = {3, 0};
  EXPECT_THROW(engine.run_tile(0, tile), InputError);
}

TEST(SoftmaxEngine, SingleRowHandDerived) {
  SoftmaxEngine engine(small_params());
  std::vector<std::int32_t> x(10, 0), y(10);
  const RowTiming t = engine.push_row(0, x.data(), 10, y.data());
  // 10 elements on 4 lanes: B = 3 beats per pass.
  EXPECT_EQ(t.pass1_start, 0u);
  EXPECT_EQ(t.pass2_start, 4u);   // last max beat at 2 + max latency 2 = 4
  EXPECT_EQ(t.pass3_start, 16u);  // 4 + 2 (last exp beat at 6) + exp 4 + recip 6 = 16
  EXPECT_EQ(t.done, 20u);         // 16 + 2 (last norm beat at 18) + norm 2 = 20
  EXPECT_EQ(SoftmaxEngine::cycles(small_params(), 1, 10), 20u);
  SoftmaxStepModel step(small_params());
  step.enqueue(0, x);
  while (!step.idle()) step.step();
  EXPECT_EQ(step.rows().timing(0), t);
  // Ten equal scores: each probability is round(2^15 / 10) = 3277.
  for (std::int32_t p : y) EXPECT_EQ(p, 3277);
  EXPECT_EQ(step.rows().output(0), y);
}

TEST(SoftmaxEngine, BackToBackRowsLimitedByRowSlots) {
  // Five rows of 10 on 4 lanes (B = 3). Pass-1 start to pass-3 start C = 2 * (3 - 1) + 2 + 4 + 6 = 16.
  // Two slots: row r + 2 starts pass 1 after row r's last pass-3 read, so s1(r) = (r / 2) * (C + B) +
  // (r % 2) * B: s1(4) = 2 * 19 = 38, done = 38 + 16 + 2 + 2 = 58.
  SoftmaxParams p = small_params();
  EXPECT_EQ(SoftmaxEngine::cycles(p, 5, 10), 58u);
  // Eight slots are more than the 19 / 3 rows in flight, so rows follow every B = 3 cycles:
  // s1(4) = 12, done = 12 + 16 + 2 + 2 = 32.
  p.row_buffers = 8;
  EXPECT_EQ(SoftmaxEngine::cycles(p, 5, 10), 32u);
  // The same through the per-row schedule and the step model, with the row-slot stall counted: row 2
  // waits from 6 (pass 1 free) to 19 (slot 0 free: row 0's s3 16 + B 3), row 3 finds slot 1 free at 22
  // (row 1's s3 19 + 3) when pass 1 frees, row 4 waits from 25 to 38: 13 + 0 + 13 = 26 cycles.
  p.row_buffers = 2;
  SoftmaxEngine engine(p);
  SoftmaxStepModel step(p);
  SoftmaxTile tile;
  tile.rows = 5;
  tile.cols = 10;
  tile.scores.assign(50, 7);
  const SoftmaxTileResult fast = engine.run_tile(0, tile);
  const SoftmaxTileResult ref = step.run_tile(0, tile);
  EXPECT_EQ(fast.done, 58u);
  EXPECT_EQ(ref.done, 58u);
  EXPECT_EQ(fast.rows[2].pass1_start, 19u);  // row 0's last norm beat at 16 + 2 = 18
  EXPECT_EQ(engine.counters().slot_wait_cycles, 26u);
  EXPECT_EQ(step.counters(), engine.counters());
}

TEST(SoftmaxEngine, CausalMaskSkipsMaskedKeys) {
  SoftmaxParams p = small_params();
  SoftmaxEngine engine(p);
  SoftmaxTile tile;
  tile.rows = 3;
  tile.cols = 6;
  tile.causal = true;
  tile.query_offset = 2;  // queries at positions 2, 3, 4 see 3, 4 and 5 keys
  for (int i = 0; i < 18; ++i) tile.scores.push_back(100 * (i % 6));
  const SoftmaxTileResult r = engine.run_tile(0, tile);
  for (std::size_t i = 0; i < 3; ++i) {
    for (std::size_t j = 0; j < 6; ++j) {
      if (j > 2 + i)
        EXPECT_EQ(r.probs[i * 6 + j], 0) << i << "," << j;
      else
        EXPECT_GT(r.probs[i * 6 + j], 0) << i << "," << j;
    }
  }
  EXPECT_EQ(engine.counters().elements, 12u);
  EXPECT_EQ(engine.counters().masked_elements, 6u);
  // Rows of 3, 4, 5 elements: B = 1, 1, 2. Row 0: s1 0, s2 0 + 2 = 2, s3 2 + 4 + 6 = 12, done 14.
  // Row 1: s1 1, s2 3, s3 13, done 15. Row 2 (slot 0, freed at 13): s1 13, s2 13 + 1 + 2 = 16,
  // s3 16 + 1 + 10 = 27, done 27 + 1 + 2 = 30.
  EXPECT_EQ(r.rows[2].pass1_start, 13u);
  EXPECT_EQ(r.done, 30u);
  // A single unmasked key has probability exactly 1.
  SoftmaxTile one;
  one.rows = 2;
  one.cols = 2;
  one.causal = true;
  one.scores = {5, -9, 3, 4};
  const SoftmaxTileResult r1 = engine.run_tile(0, one);
  EXPECT_EQ(r1.probs[0], 1 << p.prob_frac_bits);
  EXPECT_EQ(r1.probs[1], 0);
}

TEST(SoftmaxArithmetic, ExpUnitEndpoints) {
  SoftmaxParams p;
  SoftmaxArithmetic a(p);
  EXPECT_EQ(a.exp_neg(0), 1u << p.exp_frac_bits);
  // exp(-ln 2) = 1/2 within the stated error: diff = -ln2 * 2^score_frac_bits.
  const double half = a.exp_neg(-std::llround(std::log(2.0) * 256)) / std::ldexp(1.0, p.exp_frac_bits);
  EXPECT_NEAR(half, std::exp(-std::llround(std::log(2.0) * 256) / 256.0), 3e-6);
  EXPECT_EQ(a.exp_neg(std::numeric_limits<std::int32_t>::min()), 0u);
  std::uint32_t prev = a.exp_neg(0);
  for (std::int64_t d = -1; d > -6000; --d) {
    const std::uint32_t e = a.exp_neg(d);
    ASSERT_LE(e, prev) << d;
    prev = e;
  }
}

// Error bound of one probability against double softmax (the header states it; derivation):
// the exp unit returns e = 2^E (E*(1 + r) + a) for the exact E* = exp(x - m) with |r| <= rho and
// |a| <= alpha, where rho = (ln 2)^2 / 8 * 4^-b (linear interpolation of 2^-f, segment 2^-b) +
// 2^-(b + 16) (f truncated to b + 16 bits) + 1e-6 (log2(e) held to 2^-24 over t <= E + 2) and
// alpha = 1.5 * 2^-E (table entries and interpolation each round to 0.5 unit, scaled down by 2^-n <= 1,
// plus 0.5 unit for the final shift). With sum* >= 1 (the max contributes 1) the sum's relative error is
// at most delta = rho + L alpha, so |e_i / S - p*| <= (2 p* rho + alpha (1 + p* L)) / (1 - delta). The
// reciprocal mantissa (>= 2^(R-1), rounded) adds p* 2^-R relative and the output rounding 2^-(P+1).
double error_bound(const SoftmaxParams& p, double prob, std::size_t n) {
  const double rho = 0.0601 * std::ldexp(1.0, -2 * static_cast<int>(p.exp_lut_bits)) +
                     std::ldexp(1.0, -static_cast<int>(p.exp_lut_bits) - 16) + 1e-6;
  const double alpha = 1.5 * std::ldexp(1.0, -static_cast<int>(p.exp_frac_bits));
  const double delta = rho + static_cast<double>(n) * alpha;
  return (2 * prob * rho + alpha * (1 + prob * static_cast<double>(n))) / (1 - delta) +
         prob * std::ldexp(1.0, -static_cast<int>(p.recip_bits)) +
         std::ldexp(1.0, -static_cast<int>(p.prob_frac_bits) - 1) + 1e-12;
}

TEST(SoftmaxArithmetic, MatchesDoubleSoftmaxWithinStatedBound) {
  Rng rng(0x5f3a11);
  double worst_ratio = 0;
  for (int c = 0; c < 400; ++c) {
    SoftmaxParams p;
    p.exp_frac_bits = 12 + rng.below(13);  // 12..24
    p.exp_lut_bits = 3 + rng.below(8);     // 3..10
    p.recip_bits = 10 + rng.below(15);     // 10..24
    p.prob_frac_bits = 8 + rng.below(16);  // 8..23
    p.score_frac_bits = rng.below(13);     // 0..12
    p.prob_frac_bits = std::min(p.prob_frac_bits, p.exp_frac_bits + p.recip_bits - 1);
    ASSERT_EQ(p.validate(), "");
    SoftmaxArithmetic a(p);
    const std::size_t n = 1 + rng.below(512);
    const double spread = std::ldexp(1.0, static_cast<int>(p.score_frac_bits)) * (1 + rng.below(24));
    std::vector<std::int32_t> x(n), y(n);
    for (auto& v : x) v = static_cast<std::int32_t>(std::llround((2 * rng.uniform() - 1) * spread));
    a.row(x.data(), n, y.data());
    const double scale = std::ldexp(1.0, -static_cast<int>(p.score_frac_bits));
    const double m = *std::max_element(x.begin(), x.end()) * scale;
    double sum = 0;
    for (auto v : x) sum += std::exp(v * scale - m);
    for (std::size_t i = 0; i < n; ++i) {
      const double ref = std::exp(x[i] * scale - m) / sum;
      const double got = std::ldexp(static_cast<double>(y[i]), -static_cast<int>(p.prob_frac_bits));
      const double bound = error_bound(p, ref, n);
      ASSERT_LE(std::abs(got - ref), bound) << "case " << c << " i " << i << " n " << n;
      worst_ratio = std::max(worst_ratio, std::abs(got - ref) / bound);
    }
  }
  // The bound is worst case; it should not be vacuous either.
  EXPECT_GT(worst_ratio, 0.05);
}

SoftmaxParams random_params(Rng& rng, std::size_t max_len) {
  SoftmaxParams p;
  p.lanes = 1 + rng.below(9);
  p.max_latency_cycles = 1 + rng.below(5);
  p.exp_latency_cycles = 1 + rng.below(6);
  p.recip_latency_cycles = 1 + rng.below(8);
  p.norm_latency_cycles = 1 + rng.below(4);
  p.row_buffers = 1 + rng.below(4);
  p.row_buffer_elems = static_cast<std::uint32_t>(max_len + rng.below(8));
  p.exp_frac_bits = 8 + rng.below(15);
  p.exp_lut_bits = 2 + rng.below(9);
  p.recip_bits = 8 + rng.below(15);
  p.prob_frac_bits = 4 + rng.below(20);
  p.prob_frac_bits = std::min(p.prob_frac_bits, p.exp_frac_bits + p.recip_bits - 1);
  p.score_frac_bits = rng.below(12);
  return p;
}

// >= 10,000 random parameter sets and shapes: the closed form, the per-row schedule and the clock-by-clock
// model agree on every row's timing, every probability and every counter.
TEST(SoftmaxEngine, DifferentialAgainstStepModel) {
  Rng rng(20240611);
  constexpr int kCases = 10000;
  for (int c = 0; c < kCases; ++c) {
    const std::size_t max_len = 1 + rng.below(48);
    const SoftmaxParams p = random_params(rng, max_len);
    ASSERT_EQ(p.validate(), "") << c;
    SoftmaxEngine engine(p);
    SoftmaxStepModel step(p);
    const std::size_t rows = 1 + rng.below(8);
    const bool uniform = c % 2 == 0;
    const bool causal = !uniform && rng.below(3) == 0;
    std::vector<RowTiming> fast;
    std::vector<std::vector<std::int32_t>> fast_out;
    Cycle ready = rng.below(4);
    for (std::size_t r = 0; r < rows; ++r) {
      std::size_t len = uniform ? max_len : 1 + rng.below(max_len);
      if (causal) len = std::min(len, r + 1);
      if (!uniform) ready += rng.below(3) == 0 ? rng.below(40) : 0;
      std::vector<std::int32_t> x(len);
      const std::int64_t spread = std::int64_t{1} << (rng.below(20));
      for (auto& v : x)
        v = static_cast<std::int32_t>(static_cast<std::int64_t>(rng.below(2 * spread + 1)) - spread);
      std::vector<std::int32_t> y(len);
      fast.push_back(engine.push_row(ready, x.data(), len, y.data()));
      fast_out.push_back(y);
      step.enqueue(ready, x);
    }
    for (Cycle guard = 0; !step.idle(); ++guard) {
      ASSERT_LT(guard, 1000000u);
      step.step();
    }
    for (std::size_t r = 0; r < rows; ++r) {
      ASSERT_EQ(step.rows().timing(r), fast[r]) << "case " << c << " row " << r;
      ASSERT_EQ(step.rows().output(r), fast_out[r]) << "case " << c << " row " << r;
    }
    ASSERT_EQ(step.counters(), engine.counters()) << c;
    if (uniform) {
      // All rows ready at once: the closed form, shifted by the common ready cycle.
      ASSERT_EQ(SoftmaxEngine::cycles(p, rows, max_len) + fast[0].pass1_start, engine.done_cycle()) << c;
    }
  }
}

TEST(SoftmaxEngine, ClosedFormMatchesStepModelForUniformRows) {
  Rng rng(77);
  for (int c = 0; c < 2000; ++c) {
    const std::size_t len = 1 + rng.below(40);
    const SoftmaxParams p = random_params(rng, len);
    const std::size_t rows = rng.below(10);
    SoftmaxStepModel step(p);
    for (std::size_t r = 0; r < rows; ++r) step.enqueue(0, std::vector<std::int32_t>(len, 1));
    while (!step.idle()) step.step();
    const Cycle ref = rows == 0 ? 0 : step.rows().timing(rows - 1).done;
    ASSERT_EQ(SoftmaxEngine::cycles(p, rows, len), ref) << c;
  }
}

}  // namespace
}  // namespace tacsim::sfu
