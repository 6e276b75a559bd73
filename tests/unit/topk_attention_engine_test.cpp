// TopkAttentionEngine: rejected params, quantiser and LUT, hand-derived cycle counts, top-k and context
// against plain references, k = l_k against dense attention, and the differential test against
// TopkAttentionStepModel.
#include "modules/sfu/topk_attention_engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "modules/common/error.h"
#include "modules/common/rng.h"
#include "modules/pe_array/pe_array_engine.h"

namespace tacsim::sfu {
namespace {

TopkAttentionParams small_params() {
  TopkAttentionParams p;
  p.top_k = 3;
  p.quant_lanes = 8;
  p.quant_latency_cycles = 2;
  p.score_lanes = 4;
  p.lut_per_lane = 4;
  p.lut_latency_cycles = 3;
  p.merge_width = 1;
  p.merge_latency_cycles = 2;
  p.exact_lanes = 2;
  p.exact_macs_per_lane = 4;
  p.exact_latency_cycles = 2;
  p.sv_lanes = 4;
  p.sv_macs_per_lane = 16;
  p.sv_latency_cycles = 3;
  p.softmax.lanes = 4;
  p.softmax.max_latency_cycles = 1;
  p.softmax.exp_latency_cycles = 1;
  p.softmax.recip_latency_cycles = 1;
  p.softmax.norm_latency_cycles = 1;
  p.softmax.row_buffers = 2;
  p.softmax.row_buffer_elems = 8;
  return p;
}

std::vector<std::int8_t> random_int8(Rng& rng, std::size_t n, int range) {
  std::vector<std::int8_t> v(n);
  for (auto& x : v) x = static_cast<std::int8_t>(static_cast<int>(rng.below(2 * range + 1)) - range);
  return v;
}

std::string construction_error(const TopkAttentionParams& p) {
  try {
    TopkAttentionEngine engine(p);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(TopkAttentionParams, DefaultsAreValid) {
  EXPECT_EQ(TopkAttentionParams{}.validate(), "");
}

TEST(TopkAttentionParams, RejectsBadFieldsByName) {
  TopkAttentionParams p;
  p.top_k = 0;
  EXPECT_EQ(construction_error(p), "top_k: must be at least 1, got 0");
  p = TopkAttentionParams{};
  p.score_lanes = 0;
  EXPECT_EQ(p.validate(), "score_lanes: must be at least 1, got 0");
  p = TopkAttentionParams{};
  p.exact_latency_cycles = 0;
  EXPECT_EQ(p.validate(), "exact_latency_cycles: must be at least 1, got 0");
  p = TopkAttentionParams{};
  p.sv_macs_per_lane = 0;
  EXPECT_EQ(p.validate(), "sv_macs_per_lane: must be at least 1, got 0");
  p = TopkAttentionParams{};
  p.softmax.lanes = 0;
  EXPECT_EQ(p.validate(), "softmax.lanes: must be at least 1, got 0");
  p = TopkAttentionParams{};
  p.top_k = 100;
  p.softmax.row_buffer_elems = 64;
  EXPECT_EQ(p.validate(), "top_k: must be at most softmax.row_buffer_elems = 64, got 100");
  EXPECT_THROW(TopkAttentionStepModel{p}, InputError);
}

TEST(TopkAttentionEngine, RejectsBadInput) {
  TopkAttentionEngine engine(small_params());
  EXPECT_THROW(engine.run_head(0, 2, 3, 4, std::vector<std::int8_t>(7), std::vector<std::int8_t>(12)),
               InputError);
  EXPECT_THROW(engine.run_head(0, 1, 0, 4, std::vector<std::int8_t>(4), {}), InputError);
  EXPECT_THROW(engine.schedule_head(0, 1, 1, 0), InputError);
  const std::vector<std::int8_t> q(8), k(12);
  TopkRequants rq = engine.default_requants();
  EXPECT_THROW(engine.run_head(0, 2, 3, 4, q, k, std::vector<std::int8_t>(11), rq), InputError);
  EXPECT_NO_THROW(engine.run_head(0, 2, 3, 4, q, k, std::vector<std::int8_t>(12), rq));
  rq.prob.hi = 255;  // p8 must be int8
  EXPECT_THROW(engine.run_head(0, 2, 3, 4, q, k, std::vector<std::int8_t>(12), rq), InputError);
  rq = engine.default_requants();
  rq.ctx.shift = 40;
  EXPECT_THROW(engine.run_head(0, 2, 3, 4, q, k, std::vector<std::int8_t>(12), rq), InputError);
}

TEST(TopkAttentionEngine, DefaultProbabilityRequantKeepsSevenFractionBits) {
  TopkAttentionParams p;  // prob_frac_bits 15
  EXPECT_EQ(TopkAttentionEngine::default_prob_rq(p), (Requant{1, 8, -128, 127}));
  EXPECT_EQ(TopkAttentionEngine::default_prob_rq(p).apply(1 << 15), 127);  // 1.0 saturates
  EXPECT_EQ(TopkAttentionEngine::default_prob_rq(p).apply(1 << 14), 64);   // 0.5
  p.softmax.prob_frac_bits = 4;
  EXPECT_EQ(TopkAttentionEngine::default_prob_rq(p), (Requant{8, 0, -128, 127}));
  const TopkRequants rq = TopkAttentionEngine(p).default_requants();
  EXPECT_EQ(rq.score, Requant::identity32());
  EXPECT_EQ(rq.ctx, (Requant{1, 0, -128, 127}));
}

TEST(TopkQuantiser, RoundsHalfAwayFromZeroToSymmetricCodes) {
  EXPECT_EQ(int4_code(50, 100), 4);    // 3.5 -> 4
  EXPECT_EQ(int4_code(-50, 100), -4);  // -3.5 -> -4
  EXPECT_EQ(int4_code(7, 100), 0);     // 0.49 -> 0
  EXPECT_EQ(int4_code(100, 100), 7);
  EXPECT_EQ(int4_code(-128, 128), -7);
  EXPECT_EQ(int4_code(5, 0), 0);
  const std::vector<std::int8_t> x{3, -9, 100, -128, 0};
  EXPECT_EQ(int4_amax(x.data(), x.size()), 128u);
  // Against round-half-away-from-zero in double for every amax and every value it bounds.
  for (int amax = 1; amax <= 128; ++amax) {
    for (int v = -std::min(amax, 128); v <= std::min(amax, 127); ++v) {
      ASSERT_EQ(int4_code(static_cast<std::int8_t>(v), static_cast<std::uint32_t>(amax)),
                static_cast<int>(std::round(7.0 * v / amax)))
          << v << " / " << amax;
    }
  }
}

TEST(TopkQuantiser, LutHoldsCodeProducts) {
  const auto& lut = int4_product_lut();
  for (int cq = -8; cq <= 7; ++cq) {
    for (int ck = -8; ck <= 7; ++ck) {
      const std::size_t i = int4_lut_index(static_cast<std::int8_t>(cq), static_cast<std::int8_t>(ck));
      ASSERT_LT(i, 256u);
      ASSERT_EQ(lut[i], cq * ck);
    }
  }
  EXPECT_EQ(int4_lut_index(-1, 2), 0xF2u);
}

TEST(TopkAttentionEngine, TimingHandDerived) {
  const TopkAttentionParams p = small_params();
  // l_q 2, l_k 8, d 4. Quantiser: K 32 values = 4 beats of 8, Q 8 = 1 beat. amax pass 0..4, ready at 4 + 2
  // = 6; code pass 6..10, codes ready at 10 + 2 = 12.
  // Approx: 8 keys / 4 lanes = 2 groups x ceil(4 / 4) = 1 cycle: query 0 at 12, 13; lists done 13 + 3 = 16.
  // Merge: kept 3, at 16..18, indices done 18 + 2 = 20. Exact: ceil(3 / 2) = 2 groups x 1: 20, 21; scores
  // at 21 + 2 = 23. Softmax (B = 1, all depths 1): s1 23, s2 24, s3 24 + 1 + 1 = 26, done 27.
  // Query 1: approx 14, 15 -> 18; merge waits for the unit: 19..21 -> 23; exact 23, 24 -> 26; softmax
  // s1 26, s2 27, s3 29, done 30.
  // Context: ceil(4 / 4) = 1 group x ceil(3 / 16) = 1 cycle. Query 0 at 27 + 1 = 28, done 28 + 3 = 31;
  // query 1 at 31, done 34, the head's done.
  Rng rng(1);
  const auto q = random_int8(rng, 8, 127);
  const auto k = random_int8(rng, 32, 127);
  TopkAttentionEngine engine(p);
  const TopkHeadResult r = engine.run_head(0, 2, 8, 4, q, k);
  EXPECT_EQ(r.timing.quant_start, 0u);
  EXPECT_EQ(r.timing.codes_ready, 12u);
  EXPECT_EQ(r.timing.queries[0].approx_start, 12u);
  EXPECT_EQ(r.timing.queries[0].merge_start, 16u);
  EXPECT_EQ(r.timing.queries[0].exact_start, 20u);
  EXPECT_EQ(r.timing.queries[0].softmax.done, 27u);
  EXPECT_EQ(r.timing.queries[1].approx_start, 14u);
  EXPECT_EQ(r.timing.queries[1].merge_start, 19u);
  EXPECT_EQ(r.timing.queries[1].exact_start, 23u);
  EXPECT_EQ(r.timing.queries[1].softmax.done, 30u);
  EXPECT_EQ(r.timing.queries[0].context_start, 28u);
  EXPECT_EQ(r.timing.queries[0].context_done, 31u);
  EXPECT_EQ(r.timing.queries[1].context_start, 31u);
  EXPECT_EQ(r.timing.done, 34u);
  EXPECT_EQ(TopkAttentionEngine::cycles(p, 2, 8, 4), 34u);
  TopkAttentionStepModel step(p);
  const std::size_t h = step.enqueue_head(0, 2, 8, 4, q, k);
  while (!step.idle()) step.step();
  const TopkHeadResult s = step.result(h);
  EXPECT_EQ(s.timing.codes_ready, 12u);
  EXPECT_EQ(s.timing.queries, r.timing.queries);
  EXPECT_EQ(s.probs, r.probs);
  // Counters: 2 * (4 + 1) quantiser beats, 2 * 8 * 4 LUT products, 2 * 3 * 4 exact and S.V MACs.
  EXPECT_EQ(engine.counters().quant_beats, 10u);
  EXPECT_EQ(engine.counters().lut_products, 64u);
  EXPECT_EQ(engine.counters().exact_macs, 24u);
  EXPECT_EQ(engine.counters().sv_macs, 24u);
  EXPECT_EQ(step.counters(), engine.counters());
}

TEST(TopkAttentionEngine, HeadWaitsForItsCodeBuffer) {
  // Head 0 (l_q 3, l_k 8, d 4): quantiser beats K 32 / 8 = 4, Q 12 / 8 = 2; code pass from 0 + 6 - 1 + 2 =
  // 7, codes at 7 + 6 - 1 + 2 = 14, quantiser free at 13. Its queries take 2 approx cycles but 3 merge
  // cycles, so the sorter banks throttle them: query 0 approx 14..15, merge 18..20 (bank 0 free at 21);
  // query 1 approx 16..17; query 2 waits for bank 0: approx 21..22, so code slot 0 is free at 23.
  // Head 1 (l_q 1, l_k 4, d 4; K 2 beats, Q 1) uses slot 1: quantiser 13, code pass 17, free at 20.
  // Head 2 reuses slot 0: it starts at max(quantiser free 20, slot 0 free 23) = 23.
  const TopkAttentionParams p = small_params();
  Rng rng(2);
  TopkAttentionEngine engine(p);
  TopkAttentionStepModel step(p);
  std::vector<TopkHeadResult> fast;
  const std::size_t l_q[] = {3, 1, 1}, l_k[] = {8, 4, 4};
  for (int h = 0; h < 3; ++h) {
    const auto q = random_int8(rng, l_q[h] * 4, 127);
    const auto k = random_int8(rng, l_k[h] * 4, 127);
    fast.push_back(engine.run_head(0, l_q[h], l_k[h], 4, q, k));
    step.enqueue_head(0, l_q[h], l_k[h], 4, q, k);
  }
  EXPECT_EQ(fast[0].timing.codes_ready, 14u);
  EXPECT_EQ(fast[0].timing.queries[2].approx_start, 21u);
  EXPECT_EQ(fast[1].timing.quant_start, 13u);
  EXPECT_EQ(fast[2].timing.quant_start, 23u);
  while (!step.idle()) step.step();
  for (std::size_t h = 0; h < 3; ++h) {
    EXPECT_EQ(step.result(h).timing.quant_start, fast[h].timing.quant_start);
    EXPECT_EQ(step.result(h).timing.queries, fast[h].timing.queries);
  }
}

TEST(TopkAttentionEngine, SoftmaxWaitsForItsProbabilitySlot) {
  // small_params with a one-MAC context stage: Y = 4 columns x 3 keys = 12 cycles, depth 2. l_q 3, l_k 8,
  // d 4. Quantiser: K 4 beats, Q 2: code pass 7..12, codes at 14.
  // Query 0: approx 14, 15 -> 18; merge 18..20 -> 22; exact 22, 23 -> 25; softmax s1 25, done 29;
  //   context 30..41, done 43; probability slot 0 free at 42.
  // Query 1: approx 16, 17 -> 20; merge 21..23 -> 25; exact 25, 26 -> 28; softmax s1 28, done 32;
  //   context waits for the unit: 42..53, done 55.
  // Query 2: sorter bank 0 free at 21: approx 21, 22 -> 25; merge 25..27 -> 29; exact 29, 30 -> 32. The
  //   softmax would start at 32 but slot 0 still holds query 0's probabilities until 42: s1 42, s2 43,
  //   s3 45, done 46; context at max(47, 54) = 54..65, done 67.
  TopkAttentionParams p = small_params();
  p.sv_lanes = 1;
  p.sv_macs_per_lane = 1;
  p.sv_latency_cycles = 2;
  Rng rng(5);
  const auto q = random_int8(rng, 12, 127);
  const auto k = random_int8(rng, 32, 127);
  const auto v = random_int8(rng, 32, 127);
  TopkAttentionEngine engine(p);
  const TopkHeadResult r = engine.run_head(0, 3, 8, 4, q, k, v, engine.default_requants());
  EXPECT_EQ(r.timing.codes_ready, 14u);
  EXPECT_EQ(r.timing.queries[0].softmax.done, 29u);
  EXPECT_EQ(r.timing.queries[0].context_start, 30u);
  EXPECT_EQ(r.timing.queries[0].context_done, 43u);
  EXPECT_EQ(r.timing.queries[1].softmax.done, 32u);
  EXPECT_EQ(r.timing.queries[1].context_start, 42u);
  EXPECT_EQ(r.timing.queries[2].exact_start, 29u);
  EXPECT_EQ(r.timing.queries[2].softmax.pass1_start, 42u);
  EXPECT_EQ(r.timing.queries[2].softmax.done, 46u);
  EXPECT_EQ(r.timing.queries[2].context_start, 54u);
  EXPECT_EQ(r.timing.done, 67u);
  TopkAttentionStepModel step(p);
  const std::size_t h = step.enqueue_head(0, 3, 8, 4, q, k, v, engine.default_requants());
  while (!step.idle()) step.step();
  const TopkHeadResult s = step.result(h);
  EXPECT_EQ(s.timing.queries, r.timing.queries);
  EXPECT_EQ(s.context, r.context);
  EXPECT_EQ(step.counters(), engine.counters());
}

// A plain reference: codes by double rounding, scores by multiplying codes (no LUT), a stable sort so
// that equal scores keep key order.
std::vector<std::uint32_t> reference_topk(const std::vector<std::int8_t>& q,
                                          const std::vector<std::int8_t>& k, std::size_t l_q, std::size_t l_k,
                                          std::size_t d, std::size_t top_k) {
  auto codes = [](const std::vector<std::int8_t>& x) {
    int amax = 0;
    for (auto v : x) amax = std::max(amax, std::abs(int{v}));
    std::vector<int> c(x.size(), 0);
    if (amax > 0)
      for (std::size_t i = 0; i < x.size(); ++i) c[i] = static_cast<int>(std::round(7.0 * x[i] / amax));
    return c;
  };
  const std::vector<int> cq = codes(q), ck = codes(k);
  const std::size_t kept = std::min(top_k, l_k);
  std::vector<std::uint32_t> out;
  for (std::size_t i = 0; i < l_q; ++i) {
    std::vector<long> score(l_k, 0);
    for (std::size_t j = 0; j < l_k; ++j)
      for (std::size_t t = 0; t < d; ++t) score[j] += cq[i * d + t] * ck[j * d + t];
    std::vector<std::uint32_t> idx(l_k);
    std::iota(idx.begin(), idx.end(), 0u);
    std::stable_sort(idx.begin(), idx.end(),
                     [&](std::uint32_t a, std::uint32_t b) { return score[a] > score[b]; });
    out.insert(out.end(), idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(kept));
  }
  return out;
}

TEST(TopkAttentionEngine, TopkMatchesPlainReference) {
  Rng rng(123);
  for (int c = 0; c < 400; ++c) {
    TopkAttentionParams p;
    p.top_k = 1 + rng.below(24);
    const std::size_t l_q = 1 + rng.below(6), l_k = 1 + rng.below(80), d = 1 + rng.below(24);
    // Narrow value ranges make many equal approximate scores, so the tie rule is exercised.
    const int range = c % 3 == 0 ? 3 : 127;
    const auto q = random_int8(rng, l_q * d, range);
    const auto k = random_int8(rng, l_k * d, range);
    TopkAttentionEngine engine(p);
    const TopkHeadResult r = engine.run_head(0, l_q, l_k, d, q, k);
    ASSERT_EQ(r.topk, reference_topk(q, k, l_q, l_k, d, p.top_k)) << c;
  }
}

TEST(TopkAttentionEngine, KeepingEveryKeyEqualsDenseAttention) {
  Rng rng(321);
  for (int c = 0; c < 200; ++c) {
    const std::size_t l_q = 1 + rng.below(6), l_k = 1 + rng.below(64), d = 1 + rng.below(32);
    TopkAttentionParams p;
    p.top_k = static_cast<std::uint32_t>(l_k);
    p.softmax.score_frac_bits = rng.below(10);
    const auto q = random_int8(rng, l_q * d, 127);
    const auto k = random_int8(rng, l_k * d, 127);
    const auto v = random_int8(rng, l_k * d, 127);
    TopkAttentionEngine engine(p);
    const TopkRequants rq = engine.default_requants();
    const TopkHeadResult r = engine.run_head(0, l_q, l_k, d, q, k, v, rq);
    // Dense: exact int32 Q.K^T in key order, softmax over the whole row, S.V over every key.
    SoftmaxArithmetic softmax(p.softmax);
    for (std::size_t i = 0; i < l_q; ++i) {
      std::vector<std::int32_t> s(l_k, 0), dense(l_k), ctx(d, 0);
      for (std::size_t j = 0; j < l_k; ++j)
        for (std::size_t t = 0; t < d; ++t) s[j] += int{q[i * d + t]} * int{k[j * d + t]};
      softmax.row(s.data(), l_k, dense.data());
      ASSERT_EQ(std::vector<std::int32_t>(r.probs.begin() + static_cast<std::ptrdiff_t>(i * l_k),
                                          r.probs.begin() + static_cast<std::ptrdiff_t>((i + 1) * l_k)),
                dense)
          << c << " query " << i;
      for (std::size_t j = 0; j < l_k; ++j)
        for (std::size_t t = 0; t < d; ++t) ctx[t] += rq.prob.apply(dense[j]) * int{v[j * d + t]};
      for (std::size_t t = 0; t < d; ++t) {
        ASSERT_EQ(r.context_acc[i * d + t], ctx[t]) << c;
        ASSERT_EQ(r.context[i * d + t], rq.ctx.apply(ctx[t])) << c;
      }
    }
  }
}

// Random requantisers: identity or scaled scores, default or random probability shifts (some that clip),
// context shifts that keep some values in range and saturate others.
TopkRequants random_requants(Rng& rng, const TopkAttentionParams& p) {
  TopkRequants rq;
  if (rng.below(2)) {
    rq.score.multiplier = 1 + static_cast<std::int32_t>(rng.below(3));
    rq.score.shift = static_cast<std::uint32_t>(rng.below(5));
    if (rng.below(2)) rq.score.lo = -(1 << 12), rq.score.hi = 1 << 12;
  }
  rq.prob = TopkAttentionEngine::default_prob_rq(p);
  if (rng.below(3) == 0) {
    rq.prob.shift = static_cast<std::uint32_t>(rng.below(p.softmax.prob_frac_bits + 1));
    rq.prob.lo = -static_cast<std::int32_t>(rng.below(129));
    rq.prob.hi = static_cast<std::int32_t>(rng.below(128));
  }
  rq.ctx.multiplier = 1 + static_cast<std::int32_t>(rng.below(4));
  rq.ctx.shift = static_cast<std::uint32_t>(rng.below(14));
  return rq;
}

// Random heads against reference_topk_head: kept keys, probabilities and context, bit for bit. A causal
// head (l_k >= l_q) also puts no probability on a key after its query's.
void check_context_against_reference(TopkMask mask, std::uint64_t seed, int cases) {
  Rng rng(seed);
  const bool causal = mask == TopkMask::kCausal;
  for (int c = 0; c < cases; ++c) {
    TopkAttentionParams p;
    p.top_k = 1 + rng.below(24);
    p.softmax.score_frac_bits = rng.below(10);
    p.softmax.prob_frac_bits = 1 + rng.below(20);
    const std::size_t l_q = 1 + rng.below(causal ? 20 : 6);
    const std::size_t l_k = (causal ? l_q : 1) + rng.below(causal ? 6 : 60), d = 1 + rng.below(24);
    const int range = c % 3 == 0 ? 3 : 127;
    const auto q = random_int8(rng, l_q * d, range);
    const auto k = random_int8(rng, l_k * d, range);
    const auto v = random_int8(rng, l_k * d, 127);
    const TopkRequants rq = random_requants(rng, p);
    TopkAttentionEngine engine(p);
    const TopkHeadResult r = engine.run_head(0, l_q, l_k, d, q, k, v, rq, mask);
    const TopkReference ref = reference_topk_head(p, l_q, l_k, d, q, k, v, rq.score, rq.prob, rq.ctx, mask);
    ASSERT_EQ(r.topk, ref.topk) << c;
    ASSERT_EQ(r.probs, ref.probs) << c;
    ASSERT_EQ(r.context_acc, ref.context_acc) << c;
    ASSERT_EQ(r.context, ref.context) << c;
    if (!causal) continue;
    for (std::size_t i = 0; i < l_q; ++i)
      for (std::size_t j = l_k - l_q + i + 1; j < l_k; ++j) ASSERT_EQ(r.probs[i * l_k + j], 0) << c;
  }
}

TEST(TopkAttentionEngine, ContextMatchesPlainReference) {
  check_context_against_reference(TopkMask::kNone, 777, 400);
}

TEST(TopkAttentionEngine, CausalContextMatchesPlainReference) {
  check_context_against_reference(TopkMask::kCausal, 555, 300);
}

TopkAttentionParams random_params(Rng& rng) {
  TopkAttentionParams p;
  p.top_k = 1 + rng.below(12);
  p.quant_lanes = 1 + rng.below(24);
  p.quant_latency_cycles = 1 + rng.below(4);
  p.score_lanes = 1 + rng.below(6);
  p.lut_per_lane = 1 + rng.below(8);
  p.lut_latency_cycles = 1 + rng.below(5);
  p.merge_width = 1 + rng.below(4);
  p.merge_latency_cycles = 1 + rng.below(4);
  p.exact_lanes = 1 + rng.below(4);
  p.exact_macs_per_lane = 1 + rng.below(8);
  p.exact_latency_cycles = 1 + rng.below(4);
  p.sv_lanes = 1 + rng.below(6);
  p.sv_macs_per_lane = 1 + rng.below(8);
  p.sv_latency_cycles = 1 + rng.below(4);
  p.softmax.lanes = 1 + rng.below(6);
  p.softmax.max_latency_cycles = 1 + rng.below(3);
  p.softmax.exp_latency_cycles = 1 + rng.below(4);
  p.softmax.recip_latency_cycles = 1 + rng.below(5);
  p.softmax.norm_latency_cycles = 1 + rng.below(3);
  p.softmax.row_buffers = 1 + rng.below(3);
  p.softmax.row_buffer_elems = p.top_k + static_cast<std::uint32_t>(rng.below(4));
  p.softmax.score_frac_bits = rng.below(10);
  return p;
}

// Random parameter sets, each with 1-3 heads of random shapes at random ready cycles (most with v and
// random requantisers, some without v): the per-query closed forms and the clock-by-clock model agree on
// every timing, code, kept key, exact score, probability, context and counter.
TEST(TopkAttentionEngine, DifferentialAgainstStepModel) {
  Rng rng(8080);
  constexpr int kCases = 10000;
  std::size_t causal_heads = 0;
  for (int c = 0; c < kCases; ++c) {
    const TopkAttentionParams p = random_params(rng);
    ASSERT_EQ(p.validate(), "") << c;
    TopkAttentionEngine engine(p);
    TopkAttentionStepModel step(p);
    std::vector<TopkHeadResult> fast;
    std::vector<std::size_t> ids;
    std::vector<TopkMask> masks;
    const std::size_t heads = 1 + rng.below(3);
    Cycle ready = rng.below(5);
    for (std::size_t h = 0; h < heads; ++h) {
      if (rng.below(2)) ready += rng.below(60);
      // A third of the heads are causal (l_k >= l_q): their queries see fewer keys, and keep fewer.
      const TopkMask mask = rng.below(3) == 0 ? TopkMask::kCausal : TopkMask::kNone;
      const std::size_t l_q = 1 + rng.below(5), d = 1 + rng.below(12);
      const std::size_t l_k = (mask == TopkMask::kCausal ? l_q : 1) + rng.below(24);
      causal_heads += mask == TopkMask::kCausal ? 1 : 0;
      const int range = rng.below(4) == 0 ? 2 : 127;
      const auto q = random_int8(rng, l_q * d, range);
      const auto k = random_int8(rng, l_k * d, range);
      if (rng.below(4) == 0) {
        fast.push_back(engine.run_head(ready, l_q, l_k, d, q, k, mask));
        ids.push_back(step.enqueue_head(ready, l_q, l_k, d, q, k, mask));
        masks.push_back(mask);
        continue;
      }
      const auto v = random_int8(rng, l_k * d, 127);
      const TopkRequants rq = random_requants(rng, p);
      fast.push_back(engine.run_head(ready, l_q, l_k, d, q, k, v, rq, mask));
      ids.push_back(step.enqueue_head(ready, l_q, l_k, d, q, k, v, rq, mask));
      masks.push_back(mask);
    }
    for (Cycle guard = 0; !step.idle(); ++guard) {
      ASSERT_LT(guard, 1000000u) << c;
      step.step();
    }
    for (std::size_t h = 0; h < heads; ++h) {
      const TopkHeadResult s = step.result(ids[h]);
      const TopkHeadResult& f = fast[h];
      ASSERT_EQ(s.q_amax, f.q_amax) << c;
      ASSERT_EQ(s.k_amax, f.k_amax) << c;
      ASSERT_EQ(s.q_codes, f.q_codes) << c;
      ASSERT_EQ(s.k_codes, f.k_codes) << c;
      ASSERT_EQ(s.topk, f.topk) << c;
      ASSERT_EQ(s.exact_scores, f.exact_scores) << c;
      ASSERT_EQ(s.probs, f.probs) << c;
      ASSERT_EQ(s.context_acc, f.context_acc) << c;
      ASSERT_EQ(s.context, f.context) << c;
      ASSERT_EQ(s.timing.quant_start, f.timing.quant_start) << c;
      ASSERT_EQ(s.timing.codes_ready, f.timing.codes_ready) << c;
      ASSERT_EQ(s.timing.queries, f.timing.queries) << c << " head " << h;
      ASSERT_EQ(s.timing.done, f.timing.done) << c;
    }
    ASSERT_EQ(step.counters(), engine.counters()) << c;
    ASSERT_EQ(step.softmax_counters(), engine.softmax_counters()) << c;
    // One head on an idle unit: cycles() is the first head's done less its start.
    if (fast[0].timing.quant_start == 0) {
      ASSERT_EQ(TopkAttentionEngine::cycles(p, fast[0].l_q, fast[0].l_k, fast[0].d, masks[0]),
                fast[0].timing.done)
          << c;
    }
  }
  EXPECT_GT(causal_heads, 5000u);
}

TEST(TopkAttentionEngine, CyclesGrowLinearlyWithKeysForFixedK) {
  // One query: every term but the approximate scoring is independent of l_k once l_k >= top_k, so adding
  // score_lanes * 16 keys adds exactly 16 groups x ceil(d / lut_per_lane) cycles of approximate scoring
  // plus the quantiser's 2 * ceil(16 * score_lanes * d / quant_lanes) extra beats.
  TopkAttentionParams p;  // 64 lanes x 64 LUTs, quant_lanes 256
  const Cycle a = TopkAttentionEngine::cycles(p, 1, 1024, 64);
  const Cycle b = TopkAttentionEngine::cycles(p, 1, 2048, 64);
  EXPECT_EQ(b - a, 16u * 1 + 2 * (1024u * 64 / 256));  // 16 + 512
}

TEST(TopkAttentionEngine, DefaultsTakeSixteenCyclesAQueryUpToAThousandKeys) {
  // d 64, top_k 32 (the defaults): approximate scoring ceil(l_k / 64) x 1, merge 32 / 4, exact
  // ceil(32 / 4) x ceil(64 / 32), S.V ceil(64 / 4) x ceil(32 / 32): 16 cycles for the busiest stage up to
  // l_k = 1,024. Two slots per buffer: an index slot is held from the merge's start to exact's last beat,
  // 8 - 1 + 2 + 16 = 25 cycles; a probability slot from the softmax's first beat (done 14 later: max 2,
  // exp 4, reciprocal 6, normalise 2) to S.V's last, 14 + 1 + 16 = 31: both under 2 x 16. So a head advances
  // 16 cycles a query: l_q queries take 16 l_q cycles plus the quantiser and the pipeline's fill, and
  // doubling the length doubles the cost (the quantiser's 4 l d / 256 cycles grow linearly too).
  const TopkAttentionParams p;
  for (std::size_t L : {256, 512, 1024}) {
    TopkAttentionEngine e(p);
    const TopkHeadTiming t = e.schedule_head(0, L, L, 64);
    for (std::size_t i = 1; i < L; ++i)
      ASSERT_EQ(t.queries[i].context_done - t.queries[i - 1].context_done, 16u) << L << " query " << i;
  }
  const double ratio = double(TopkAttentionEngine::cycles(p, 1024, 1024, 64)) /
                       double(TopkAttentionEngine::cycles(p, 512, 512, 64));
  EXPECT_LT(ratio, 2.05);
  EXPECT_GT(ratio, 1.95);
}

TEST(TopkAttentionEngine, DefaultBudgetStaysWellBelowThePeArrays) {
  // The README's fairness rule: counting a 4x4-bit LUT product as a quarter of an int8 MAC, the default unit
  // has 64 x 64 / 4 + 4 x 32 + 4 x 32 = 1,280 int8-MAC equivalents, under a third of the default PE array's
  // 32 x 32 x 4 = 4,096, which dense attention uses; its softmax is 32 lanes.
  const TopkAttentionParams t;
  const pe_array::Params a;
  const std::uint64_t luts = std::uint64_t{t.score_lanes} * t.lut_per_lane;
  const std::uint64_t macs =
      std::uint64_t{t.exact_lanes} * t.exact_macs_per_lane + std::uint64_t{t.sv_lanes} * t.sv_macs_per_lane;
  const std::uint64_t array = std::uint64_t{a.rows} * a.cols * a.macs_per_pe;
  EXPECT_EQ(luts / 4 + macs, 1280u);
  EXPECT_EQ(array, 4096u);
  EXPECT_LT(3 * (luts / 4 + macs), array);
  EXPECT_EQ(t.softmax.lanes, 32u);
}

TEST(TopkAttentionEngine, MergeWidthTakesSeveralKeysACycle) {
  // small_params with merge_width 2: the merge of query 0 (kept 3) takes ceil(3 / 2) = 2 cycles, 16..17,
  // its indices done 17 + 2 = 19, one cycle before TimingHandDerived's 20; the keys are the same.
  TopkAttentionParams p = small_params();
  Rng rng(1);
  const auto q = random_int8(rng, 8, 127);
  const auto k = random_int8(rng, 32, 127);
  const TopkHeadResult one = TopkAttentionEngine(p).run_head(0, 2, 8, 4, q, k);
  p.merge_width = 2;
  const TopkHeadResult two = TopkAttentionEngine(p).run_head(0, 2, 8, 4, q, k);
  EXPECT_EQ(two.timing.queries[0].merge_start, 16u);
  EXPECT_EQ(two.timing.queries[0].exact_start, 19u);
  EXPECT_EQ(two.topk, one.topk);
  EXPECT_EQ(two.probs, one.probs);
  TopkAttentionStepModel step(p);
  const std::size_t h = step.enqueue_head(0, 2, 8, 4, q, k);
  while (!step.idle()) step.step();
  EXPECT_EQ(step.result(h).timing.queries, two.timing.queries);
}

TEST(TopkAttentionEngine, CausalQueriesSeeOnlyEarlierKeys) {
  // l_q = l_k = 4, d 4, top_k 3 (small_params): query i sees keys 0..i and keeps min(3, i + 1).
  // Approximate scoring: ceil((i + 1) / 4) = 1 group for every query; merge 1, 2, 3, 3 cycles.
  const TopkAttentionParams p = small_params();
  Rng rng(4);
  const auto q = random_int8(rng, 16, 127);
  const auto k = random_int8(rng, 16, 127);
  const auto v = random_int8(rng, 16, 127);
  TopkAttentionEngine engine(p);
  const TopkRequants rq = engine.default_requants();
  const TopkHeadResult r = engine.run_head(0, 4, 4, 4, q, k, v, rq, TopkMask::kCausal);
  ASSERT_EQ(r.kept, 3u);
  // Query 0 keeps key 0 alone; its other slots are empty. No query keeps a key after itself.
  EXPECT_EQ(r.topk[0], 0u);
  EXPECT_EQ(r.topk[1], kNoKey);
  EXPECT_EQ(r.topk[2], kNoKey);
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t n = 0; n < 3; ++n) {
      const std::uint32_t key = r.topk[i * 3 + n];
      if (n < std::min<std::size_t>(3, i + 1)) {
        EXPECT_LE(key, i);
      } else {
        EXPECT_EQ(key, kNoKey);
      }
    }
  // Query 0's only key gets probability 1: its context row is v's row 0 through the requantisers.
  for (std::size_t c = 0; c < 4; ++c) EXPECT_EQ(r.context_acc[c], rq.prob.apply(1 << 15) * int{v[c]});
  const TopkReference ref =
      reference_topk_head(p, 4, 4, 4, q, k, v, rq.score, rq.prob, rq.ctx, TopkMask::kCausal);
  EXPECT_EQ(r.topk, ref.topk);
  EXPECT_EQ(r.probs, ref.probs);
  EXPECT_EQ(r.context, ref.context);
  // Counters: LUT products over 1 + 2 + 3 + 4 visible keys x d 4; kept 1 + 2 + 3 + 3 = 9 keys x d 4 MACs.
  EXPECT_EQ(engine.counters().lut_products, 40u);
  EXPECT_EQ(engine.counters().exact_macs, 36u);
  EXPECT_EQ(engine.counters().sv_macs, 36u);
  // Quantiser: K and Q 2 beats of 8 each: code pass from 0 + 4 - 1 + 2 = 5, codes at 5 + 4 - 1 + 2 = 10.
  // Approximate scoring, one beat a query: query 0 at 10, lists done 13, merge (1 key) 13; query 1 at 11,
  // merge (2 keys) 14..15. Query 2 waits for sorter bank 0 (free after query 0's merge, 14): lists 17, merge
  // (3 keys) 17..19; query 3 waits for bank 1 (free at 16): lists 19, merge waits for the unit: 20..22.
  EXPECT_EQ(r.timing.codes_ready, 10u);
  EXPECT_EQ(r.timing.queries[0].merge_start, 13u);
  EXPECT_EQ(r.timing.queries[1].merge_start, 14u);
  EXPECT_EQ(r.timing.queries[2].approx_start, 14u);
  EXPECT_EQ(r.timing.queries[2].merge_start, 17u);
  EXPECT_EQ(r.timing.queries[3].merge_start, 20u);
  TopkAttentionStepModel step(p);
  const std::size_t id = step.enqueue_head(0, 4, 4, 4, q, k, v, rq, TopkMask::kCausal);
  while (!step.idle()) step.step();
  EXPECT_EQ(step.result(id).timing.queries, r.timing.queries);
  EXPECT_EQ(step.result(id).topk, r.topk);
  EXPECT_EQ(step.counters(), engine.counters());
  EXPECT_THROW(engine.run_head(0, 4, 3, 4, q, std::vector<std::int8_t>(12), TopkMask::kCausal), InputError);
}

}  // namespace
}  // namespace tacsim::sfu
