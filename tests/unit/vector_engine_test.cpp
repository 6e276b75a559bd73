// VectorEngine: rejected params and jobs, hand-derived cycle counts, layernorm / GELU / residual add values
// against double references within the stated bounds, and the differential test against VectorStepModel.
#include "modules/sfu/vector_engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "modules/common/error.h"
#include "modules/common/rng.h"

namespace tacsim::sfu {
namespace {

VectorParams small_params() {
  VectorParams p;
  p.lanes = 4;
  p.gelu_latency_cycles = 3;
  p.add_latency_cycles = 1;
  p.sum_latency_cycles = 2;
  p.mean_latency_cycles = 4;
  p.var_latency_cycles = 3;
  p.rsqrt_latency_cycles = 8;
  p.norm_latency_cycles = 3;
  p.row_buffers = 2;
  p.row_buffer_elems = 64;
  return p;
}

std::string construction_error(const VectorParams& p) {
  try {
    VectorEngine engine(p);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(VectorParams, DefaultsAreValid) {
  EXPECT_EQ(VectorParams{}.validate(), "");
}

TEST(VectorParams, RejectsBadFieldsByName) {
  VectorParams p;
  p.lanes = 0;
  EXPECT_EQ(construction_error(p), "lanes: must be at least 1, got 0");
  p = VectorParams{};
  p.rsqrt_latency_cycles = 0;
  EXPECT_EQ(p.validate(), "rsqrt_latency_cycles: must be at least 1, got 0");
  p = VectorParams{};
  p.gelu_frac_bits = 2;
  p.gelu_range_log2 = 1;
  p.gelu_lut_bits = 5;  // segments narrower than one input LSB
  EXPECT_EQ(p.validate(), "gelu_lut_bits: must be at most 4, got 5");
  p = VectorParams{};
  p.ln_out_frac_bits = 28;  // rounding shift Z + A - O would reach 0 (R 16 + A 12 - 1 = 27)
  EXPECT_EQ(p.validate(), "ln_out_frac_bits: must be at most 27, got 28");
  p = VectorParams{};
  p.ln_input_bits = 24;
  p.ln_rsqrt_bits = 16;
  EXPECT_EQ(p.validate(),
            "ln_input_bits: ln_input_bits + ln_mean_frac_bits + ln_rsqrt_bits must be at most 45, got 48");
  p = VectorParams{};
  p.ln_input_bits = 20;
  p.ln_rsqrt_bits = 8;
  p.row_buffer_elems = 8192;
  EXPECT_EQ(
      p.validate(),
      "row_buffer_elems: 2 * (ln_input_bits + ln_mean_frac_bits) + ceil(log2(row_buffer_elems)) must be at "
      "most 62, got 69");
  p = VectorParams{};
  p.ln_epsilon_lsb2 = 0;
  EXPECT_EQ(p.validate(),
            "ln_epsilon_lsb2: must be between 2^-(2 * ln_mean_frac_bits + 1) = 7.62939e-06 and 2^(2 * "
            "ln_input_bits) "
            "= 4.29497e+09, got 0");
  EXPECT_THROW(VectorStepModel{p}, InputError);
}

TEST(VectorEngine, RejectsBadJobs) {
  VectorEngine engine(small_params());
  const std::vector<std::int16_t> g(4, 4096), b(4, 0);
  EXPECT_THROW(engine.layernorm(0, 2, 4, std::vector<std::int32_t>(7, 0), g, b), InputError);
  EXPECT_THROW(engine.layernorm(0, 1, 4, {1, 2, 3, 40000}, g, b), InputError);  // 16-bit input
  EXPECT_THROW(engine.layernorm(0, 1, 4, {1, 2, 3, 4}, g, std::vector<std::int16_t>(3, 0)), InputError);
  EXPECT_THROW(engine.layernorm(0, 1, 65, std::vector<std::int32_t>(65, 0), std::vector<std::int16_t>(65, 0),
                                std::vector<std::int16_t>(65, 0)),
               InputError);  // longer than a row slot
  EXPECT_THROW(engine.residual_add(0, {1, 2}, {1}), InputError);
  EXPECT_THROW(engine.gelu(0, {}), InputError);
}

TEST(VectorEngine, LayernormTimingHandDerived) {
  const VectorParams p = small_params();
  // 10 elements on 4 lanes: B = 3. s1 = 0; s2 = 2 (last sum beat) + sum 2 + mean 4 = 8;
  // s3 = 8 + 2 + var 3 + rsqrt 8 = 21; done = 21 + 2 + norm 3 = 26.
  EXPECT_EQ(VectorEngine::layernorm_cycles(p, 1, 10), 26u);
  // Three rows, two slots: C = 2 * 2 + 2 + 4 + 3 + 8 = 21; row 2 waits for row 0's slot, free at
  // s3 + B = 24; done = 24 + 21 + 2 + 3 = 50.
  EXPECT_EQ(VectorEngine::layernorm_cycles(p, 3, 10), 50u);
  VectorEngine engine(p);
  VectorStepModel step(p);
  std::vector<std::int32_t> x(30);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<std::int32_t>(i * 37 % 23) - 11;
  const std::vector<std::int16_t> g(10, 1 << 12), b(10, 0);
  const LayernormResult fast = engine.layernorm(0, 3, 10, x, g, b);
  const std::size_t job = step.enqueue_layernorm(0, 3, 10, x, g, b);
  while (!step.idle()) step.step();
  const LayernormResult ref = step.layernorm_result(job);
  EXPECT_EQ(fast.done, 50u);
  EXPECT_EQ(ref.done, 50u);
  EXPECT_EQ(fast.rows[2].pass1_start, 24u);
  EXPECT_EQ(ref.rows[2].pass1_start, 24u);
  EXPECT_EQ(fast.out, ref.out);
  // Row 2 waited from 6 (pass-1 unit free) to 24.
  EXPECT_EQ(engine.counters().ln_slot_wait_cycles, 18u);
  EXPECT_EQ(step.counters(), engine.counters());
}

TEST(VectorEngine, ElementwiseTimingHandDerived) {
  const VectorParams p = small_params();
  // GELU of 10 on 4 lanes: beats at 0, 1, 2, depth 3: done 2 + 3 = 5.
  EXPECT_EQ(VectorEngine::elementwise_cycles(p, ElementwiseOp::kGelu, 10), 5u);
  // Add of 4: one beat, depth 1: done 0 + 1 = 1.
  EXPECT_EQ(VectorEngine::elementwise_cycles(p, ElementwiseOp::kResidualAdd, 4), 1u);
  VectorEngine engine(p);
  VectorStepModel step(p);
  const std::vector<std::int32_t> x(10, 300);
  const std::vector<std::int8_t> a{100, -100, 5, 7}, b{100, -100, -5, 8};
  const auto g = engine.gelu(0, x);
  const auto r = engine.residual_add(0, a, b);
  const std::size_t gj = step.enqueue_gelu(0, x);
  const std::size_t rj = step.enqueue_residual_add(0, a, b);
  while (!step.idle()) step.step();
  EXPECT_EQ(g.start, 0u);
  EXPECT_EQ(g.done, 5u);
  // The add could issue at 3 but would complete at 4 <= 5, before the last GELU beat: it issues at
  // 5 + 1 - 1 = 5 and completes at 6, after 2 cycles of order wait.
  EXPECT_EQ(r.start, 5u);
  EXPECT_EQ(r.done, 6u);
  EXPECT_EQ(engine.counters().ew_order_wait_cycles, 2u);
  EXPECT_EQ(step.gelu_result(gj).done, 5u);
  EXPECT_EQ(step.residual_add_result(rj).start, 5u);
  EXPECT_EQ(step.residual_add_result(rj).done, 6u);
  EXPECT_EQ(r.out, (std::vector<std::int8_t>{127, -128, 0, 15}));
  EXPECT_EQ(engine.counters().add_saturations, 2u);
  EXPECT_EQ(step.counters(), engine.counters());
}

TEST(VectorArithmetic, ResidualAddIsExactSaturatingAdd) {
  for (int a = -128; a < 128; ++a) {
    for (int b = -128; b < 128; ++b) {
      bool sat = false;
      const std::int8_t s = residual_add(static_cast<std::int8_t>(a), static_cast<std::int8_t>(b), sat);
      ASSERT_EQ(s, std::clamp(a + b, -128, 127));
      ASSERT_EQ(sat, a + b > 127 || a + b < -128);
    }
  }
}

double gelu_ref(double x) {
  return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
}

// GELU error bound: interpolating f between breakpoints h apart errs by at most h^2 / 8 max|f''|, and
// GELU'' = phi(x) (2 - x^2) peaks at 2 phi(0) = 0.7979 in magnitude, so 0.0998 h^2. Outside [-R, R) the
// unit returns x or 0, off by |x| Phi(-|x|) <= R Phi(-R) (decreasing for |x| >= 1). The rounded breakpoints
// (0.5 LSB, interpolated) and the rounded interpolation (0.5 LSB) add 2^-F.
double gelu_bound(const VectorParams& p) {
  const double range = std::ldexp(1.0, static_cast<int>(p.gelu_range_log2));
  const double h = 2 * range / std::ldexp(1.0, static_cast<int>(p.gelu_lut_bits));
  const double tail = range * 0.5 * std::erfc(range / std::sqrt(2.0));
  return std::max(0.0998 * h * h, tail) + std::ldexp(1.0, -static_cast<int>(p.gelu_frac_bits)) + 1e-12;
}

TEST(VectorArithmetic, GeluWithinStatedBound) {
  Rng rng(99);
  for (int c = 0; c < 60; ++c) {
    VectorParams p;
    p.gelu_frac_bits = 4 + rng.below(17);
    p.gelu_range_log2 = 1 + rng.below(3);
    p.gelu_lut_bits = std::min<std::uint32_t>(3 + rng.below(8), p.gelu_frac_bits + p.gelu_range_log2 + 1);
    ASSERT_EQ(p.validate(), "") << c;
    GeluArithmetic g(p);
    const double lsb = std::ldexp(1.0, -static_cast<int>(p.gelu_frac_bits));
    const double bound = gelu_bound(p);
    const std::int64_t span = std::int64_t{3} << (p.gelu_frac_bits + p.gelu_range_log2);
    for (int i = 0; i < 4000; ++i) {
      const auto v = static_cast<std::int32_t>(static_cast<std::int64_t>(rng.below(2 * span + 1)) - span);
      const double err = std::abs(g.apply(v) * lsb - gelu_ref(v * lsb));
      ASSERT_LE(err, bound) << "case " << c << " v " << v;
    }
  }
  // Defaults: h = 8 / 256, bound = max(9.7e-5, 1.27e-4) + 2^-10.
  EXPECT_NEAR(gelu_bound(VectorParams{}), 1.27e-4 + 1.0 / 1024, 1e-6);
  GeluArithmetic g(VectorParams{});
  EXPECT_EQ(g.apply(0), 0);
  EXPECT_EQ(g.apply(1 << 12), 1 << 12);  // x = 4 = R passes through
  EXPECT_EQ(g.apply(-(1 << 12) - 1), 0);
  EXPECT_EQ(g.apply(1 << 10), std::lround(gelu_ref(1.0) * 1024));  // breakpoint: 841
}

// Layernorm error bound (stated in vector_engine.h). In input LSBs: the mean is off by at most
// dm = 2^-(M+1); the variance is taken around that mean, so it exceeds the true one by dm^2, and it and
// eps are each rounded to 2^-(2M+1): s'^2 = s^2 + D with |D| <= dm^2 + 2^-2M, so 1/s' = (1/s)(1 + xi1)
// with |xi1| <= |D| / (2 s^2) (first order; 1% slack below covers the rest). The rsqrt mantissa, at least
// 2^(R-1), rounds to within 2^-R relative. So |n' - n| <= dm / s + |n| xi with xi = xi1 + 2^-R, the
// output is gamma n' + beta exactly before its final rounding to 2^-(O+1), and |y' - y| <= |gamma| |n' -
// n| + 2^-(O+1).
TEST(VectorArithmetic, LayernormWithinStatedBound) {
  Rng rng(4242);
  for (int c = 0; c < 300; ++c) {
    VectorParams p;
    p.ln_input_bits = 8 + rng.below(9);   // 8..16
    p.ln_mean_frac_bits = rng.below(11);  // 0..10
    p.ln_rsqrt_bits = std::min<std::uint32_t>(8 + rng.below(13), 45 - p.ln_input_bits - p.ln_mean_frac_bits);
    p.ln_affine_frac_bits = 8 + rng.below(7);  // 8..14
    p.ln_out_frac_bits =
        std::min<std::uint32_t>(4 + rng.below(14), p.ln_rsqrt_bits + p.ln_affine_frac_bits - 1);
    // eps from 1 to 100 units of 2^-2M, the smallest the unit can hold.
    p.ln_epsilon_lsb2 = std::ldexp(1.0 + rng.below(100), -2 * static_cast<int>(p.ln_mean_frac_bits));
    p.row_buffer_elems = 1024;
    ASSERT_EQ(p.validate(), "") << c;
    LayernormArithmetic ln(p);
    const std::size_t n = 1 + rng.below(1024);
    const std::int64_t limit = std::int64_t{1} << (p.ln_input_bits - 1);
    const std::int64_t spread = 1 + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(limit)));
    const std::int64_t centre =
        static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(limit - spread + 1))) *
        (rng.below(2) ? 1 : -1);
    std::vector<std::int32_t> x(n), y(n);
    std::vector<std::int16_t> gamma(n), beta(n);
    for (auto& v : x) {
      v = static_cast<std::int32_t>(std::clamp<std::int64_t>(
          centre + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(2 * spread))) - spread,
          -limit, limit - 1));
    }
    for (auto& g : gamma) g = static_cast<std::int16_t>(static_cast<int>(rng.below(16384)) - 8192);
    for (auto& b : beta) b = static_cast<std::int16_t>(static_cast<int>(rng.below(16384)) - 8192);
    ln.row(x.data(), n, gamma.data(), beta.data(), y.data());
    double mean = 0;
    for (auto v : x) mean += v;
    mean /= static_cast<double>(n);
    double var = 0;
    for (auto v : x) var += (v - mean) * (v - mean);
    var /= static_cast<double>(n);
    const double s = std::sqrt(var + p.ln_epsilon_lsb2);
    const double a = std::ldexp(1.0, -static_cast<int>(p.ln_affine_frac_bits));
    const double dm = std::ldexp(1.0, -static_cast<int>(p.ln_mean_frac_bits) - 1);
    const double xi =
        1.01 * ((dm * dm + std::ldexp(1.0, -2 * static_cast<int>(p.ln_mean_frac_bits))) / (2 * s * s) +
                std::ldexp(1.0, -static_cast<int>(p.ln_rsqrt_bits)));
    for (std::size_t i = 0; i < n; ++i) {
      const double norm = (x[i] - mean) / s;
      const double ref = gamma[i] * a * norm + beta[i] * a;
      const double got = std::ldexp(static_cast<double>(y[i]), -static_cast<int>(p.ln_out_frac_bits));
      const double bound = std::abs(gamma[i] * a) * (dm / s * 1.01 + std::abs(norm) * xi) +
                           std::ldexp(1.0, -static_cast<int>(p.ln_out_frac_bits) - 1) + 1e-9;
      ASSERT_LE(std::abs(got - ref), bound) << "case " << c << " i " << i << " n " << n << " s " << s;
    }
  }
}

VectorParams random_params(Rng& rng, std::size_t max_cols) {
  VectorParams p;
  p.lanes = 1 + rng.below(9);
  p.gelu_latency_cycles = 1 + rng.below(6);
  p.add_latency_cycles = 1 + rng.below(6);
  p.sum_latency_cycles = 1 + rng.below(4);
  p.mean_latency_cycles = 1 + rng.below(6);
  p.var_latency_cycles = 1 + rng.below(4);
  p.rsqrt_latency_cycles = 1 + rng.below(9);
  p.norm_latency_cycles = 1 + rng.below(4);
  p.row_buffers = 1 + rng.below(4);
  p.row_buffer_elems = static_cast<std::uint32_t>(max_cols + rng.below(4));
  p.gelu_frac_bits = 4 + rng.below(12);
  p.gelu_lut_bits = 2 + rng.below(6);
  p.ln_input_bits = 8 + rng.below(9);
  p.ln_mean_frac_bits = rng.below(10);
  p.ln_rsqrt_bits = 8 + rng.below(13);
  p.ln_out_frac_bits = 4 + rng.below(12);
  p.ln_epsilon_lsb2 = std::ldexp(1.0 + rng.below(100), -2 * static_cast<int>(p.ln_mean_frac_bits));
  return p;
}

// >= 10,000 random parameter sets, each with a random mix of layernorm and elementwise jobs at random
// ready cycles: the per-row / per-job schedule and the clock-by-clock model agree on every timing, every
// output value and every counter; for a single job on an idle unit the closed forms agree too.
TEST(VectorEngine, DifferentialAgainstStepModel) {
  Rng rng(31337);
  constexpr int kCases = 10000;
  for (int c = 0; c < kCases; ++c) {
    const std::size_t max_cols = 1 + rng.below(40);
    const VectorParams p = random_params(rng, max_cols);
    ASSERT_EQ(p.validate(), "") << c;
    VectorEngine engine(p);
    VectorStepModel step(p);
    struct Expect {
      int kind;  // 0 layernorm, 1 gelu, 2 add
      std::size_t job;
      LayernormResult ln;
      ElementwiseResult<std::int32_t> gelu;
      ElementwiseResult<std::int8_t> add;
      std::size_t rows, cols;
    };
    std::vector<Expect> expects;
    const std::size_t jobs = 1 + rng.below(5);
    Cycle ready = 0;
    const std::int64_t limit = std::int64_t{1} << (p.ln_input_bits - 1);
    for (std::size_t j = 0; j < jobs; ++j) {
      if (rng.below(3) == 0) ready += rng.below(30);
      Expect e{};
      e.kind = static_cast<int>(rng.below(3));
      if (e.kind == 0) {
        e.rows = 1 + rng.below(5);
        e.cols = 1 + rng.below(max_cols);
        std::vector<std::int32_t> x(e.rows * e.cols);
        for (auto& v : x)
          v = static_cast<std::int32_t>(static_cast<std::int64_t>(rng.below(2 * limit)) - limit);
        std::vector<std::int16_t> g(e.cols), b(e.cols);
        for (auto& v : g) v = static_cast<std::int16_t>(rng.next());
        for (auto& v : b) v = static_cast<std::int16_t>(rng.next());
        e.ln = engine.layernorm(ready, e.rows, e.cols, x, g, b);
        e.job = step.enqueue_layernorm(ready, e.rows, e.cols, x, g, b);
      } else if (e.kind == 1) {
        std::vector<std::int32_t> x(1 + rng.below(60));
        for (auto& v : x)
          v = static_cast<std::int32_t>(static_cast<std::int64_t>(rng.below(200001)) - 100000);
        e.gelu = engine.gelu(ready, x);
        e.job = step.enqueue_gelu(ready, x);
      } else {
        std::vector<std::int8_t> a(1 + rng.below(60)), b(a.size());
        for (auto& v : a) v = static_cast<std::int8_t>(rng.next());
        for (auto& v : b) v = static_cast<std::int8_t>(rng.next());
        e.add = engine.residual_add(ready, a, b);
        e.job = step.enqueue_residual_add(ready, a, b);
      }
      expects.push_back(std::move(e));
    }
    for (Cycle guard = 0; !step.idle(); ++guard) {
      ASSERT_LT(guard, 1000000u);
      step.step();
    }
    for (const Expect& e : expects) {
      if (e.kind == 0) {
        const LayernormResult r = step.layernorm_result(e.job);
        ASSERT_EQ(r.rows, e.ln.rows) << c;
        ASSERT_EQ(r.out, e.ln.out) << c;
      } else if (e.kind == 1) {
        const auto r = step.gelu_result(e.job);
        ASSERT_EQ(r.start, e.gelu.start) << c;
        ASSERT_EQ(r.done, e.gelu.done) << c;
        ASSERT_EQ(r.out, e.gelu.out) << c;
      } else {
        const auto r = step.residual_add_result(e.job);
        ASSERT_EQ(r.start, e.add.start) << c;
        ASSERT_EQ(r.done, e.add.done) << c;
        ASSERT_EQ(r.out, e.add.out) << c;
      }
    }
    ASSERT_EQ(step.counters(), engine.counters()) << c;
    // Closed forms: the first job started on an idle unit at its ready cycle.
    const Expect& first = expects[0];
    if (first.kind == 0) {
      ASSERT_EQ(VectorEngine::layernorm_cycles(p, first.rows, first.cols),
                first.ln.done - first.ln.rows[0].pass1_start);
    } else if (first.kind == 1) {
      ASSERT_EQ(VectorEngine::elementwise_cycles(p, ElementwiseOp::kGelu, first.gelu.out.size()),
                first.gelu.done - first.gelu.start);
    } else {
      ASSERT_EQ(VectorEngine::elementwise_cycles(p, ElementwiseOp::kResidualAdd, first.add.out.size()),
                first.add.done - first.add.start);
    }
  }
}

TEST(VectorEngine, LayernormClosedFormMatchesStepModel) {
  Rng rng(5);
  for (int c = 0; c < 2000; ++c) {
    const std::size_t cols = 1 + rng.below(40);
    const VectorParams p = random_params(rng, cols);
    const std::size_t rows = 1 + rng.below(10);
    VectorStepModel step(p);
    step.enqueue_layernorm(0, rows, cols, std::vector<std::int32_t>(rows * cols, 3),
                           std::vector<std::int16_t>(cols, 1), std::vector<std::int16_t>(cols, 0));
    while (!step.idle()) step.step();
    ASSERT_EQ(VectorEngine::layernorm_cycles(p, rows, cols), step.layernorm_result(0).done) << c;
  }
}

}  // namespace
}  // namespace tacsim::sfu
