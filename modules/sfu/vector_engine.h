#pragma once
// Vector unit of the SFU: layernorm, GELU and saturating residual add, `lanes` elements per cycle.
//
// Two independent datapaths, each taking its jobs in submission order:
//   - the layernorm datapath is the three-pass row pipeline of softmax_engine.h: pass 1 sums the row into
//     a row slot, a divider gives the mean, pass 2 sums squared deviations, an rsqrt unit gives
//     1/sqrt(var + eps), pass 3 scales, applies gamma and beta and writes the row;
//   - the elementwise datapath (GELU, residual add) takes one beat of `lanes` elements per cycle through a
//     pipeline whose depth depends on the operation. Results leave in issue order through one write port:
//     a beat may not issue if it would complete at or before the beat issued before it, so a shallow
//     operation after a deep one waits for the difference. A job of B beats ready at `ready` starts at
//       start = max(ready, previous start + previous B, previous done + 1 - depth)
//     and is done at start + B - 1 + depth.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "modules/common/types.h"
#include "modules/sfu/softmax_engine.h"

namespace tacsim::sfu {

// Arithmetic, as implemented (derivations of the error bounds are in vector_engine_test.cpp):
//   residual add  int8 + int8, saturated to [-128, 127]: exact.
//   GELU          int32 in and out, real value v * 2^-F (F = gelu_frac_bits). Piecewise linear in
//                 2^gelu_lut_bits segments of width h = 2R / 2^gelu_lut_bits over [-R, R), R =
//                 2^gelu_range_log2; breakpoints hold round(2^F * GELU(x_j)) of the exact erf form
//                 GELU(x) = x Phi(x); interpolation rounds to nearest. x >= R passes x, x < -R gives 0.
//                 |error| <= max(0.0998 h^2, R Phi(-R)) + 2^-F (0.0998 = max|GELU''| / 8 = 2 phi(0) / 8).
//   layernorm     input int32 values x with |x| < 2^(ln_input_bits - 1) (in input LSBs; the scale only
//                 matters through epsilon), gamma and beta int16 with A = ln_affine_frac_bits fraction bits,
//                 output int32 with O = ln_out_frac_bits fraction bits, saturated. With M =
//                 ln_mean_frac_bits and R = ln_rsqrt_bits:
//                   mu  = round(2^M * sum x / L)                      (units 2^-M)
//                   d   = 2^M x - mu,  var = round(sum d^2 / L)       (units 2^-M, 2^-2M)
//                   v   = var + round(2^2M * ln_epsilon_lsb2),  e = bit length of v
//                   q   = round(2^Z / sqrt(v)), Z = R - 1 + ceil(e / 2)   (R or R+1 bits; IEEE double)
//                   y   = round((d q gamma + beta 2^Z) / 2^(Z + A - O))
//                 |error| <= |gamma| (2^-(M+1) / s + |n| (2^-R + (2^-2(M+1) + 2^-2M) / (2 s^2))) + 2^-(O+1)
//                 against double layernorm with n = (x - mean) / s, s = sqrt(var + eps) in input LSBs.
struct VectorParams {
  // Datapath (illustrative defaults, not figures from a paper).
  std::uint32_t lanes = 16;
  std::uint32_t gelu_latency_cycles = 3;  // segment index and table read, interpolation multiply, round
  std::uint32_t add_latency_cycles = 1;
  std::uint32_t sum_latency_cycles = 2;    // layernorm pass 1: adder tree, accumulator
  std::uint32_t mean_latency_cycles = 4;   // divide by L, once per row
  std::uint32_t var_latency_cycles = 3;    // pass 2: subtract, square, adder tree, accumulator
  std::uint32_t rsqrt_latency_cycles = 8;  // once per row
  std::uint32_t norm_latency_cycles = 3;   // pass 3: multiply by rstd and gamma, add beta, round
  std::uint32_t row_buffers = 2;           // layernorm row slots (2: ping-pong)
  std::uint32_t row_buffer_elems = 4096;   // elements per slot: the longest row (hidden size)
  // Arithmetic.
  std::uint32_t gelu_frac_bits = 10;
  std::uint32_t gelu_lut_bits = 8;
  std::uint32_t gelu_range_log2 = 2;
  std::uint32_t ln_input_bits = 16;
  std::uint32_t ln_mean_frac_bits = 8;
  double ln_epsilon_lsb2 = 2.56e-3;  // eps in input LSB^2: GPT-2 layer_norm_epsilon 1e-5 at an LSB of 2^-4
  std::uint32_t ln_rsqrt_bits = 16;
  std::uint32_t ln_affine_frac_bits = 12;  // gamma, beta: int16 Q3.12
  std::uint32_t ln_out_frac_bits = 10;

  std::string validate() const;
};

enum class ElementwiseOp { kGelu, kResidualAdd };

class GeluArithmetic {
 public:
  explicit GeluArithmetic(const VectorParams& params);
  std::int32_t apply(std::int32_t v) const;

 private:
  std::uint32_t frac_bits_;
  std::uint32_t range_log2_;
  std::uint32_t seg_shift_;  // input LSBs per segment = 2^seg_shift_
  std::vector<std::int64_t> lut_;
};

// Saturating int8 add; sets `saturated` when the sum was clipped.
std::int8_t residual_add(std::int8_t a, std::int8_t b, bool& saturated);

class LayernormArithmetic {
 public:
  struct Rstd {
    std::int64_t mantissa = 0;  // round(2^shift / sqrt(v))
    std::uint32_t shift = 0;
  };

  explicit LayernormArithmetic(const VectorParams& params);
  std::int64_t mean(std::int64_t sum, std::size_t n) const;
  std::int64_t deviation(std::int64_t x, std::int64_t mean) const {
    return x * (std::int64_t{1} << mean_frac_bits_) - mean;
  }
  Rstd rstd(std::int64_t sum_sq, std::size_t n) const;
  std::int32_t normalise(std::int64_t d, const Rstd& r, std::int16_t gamma, std::int16_t beta) const;
  // One row, pass by pass.
  void row(const std::int32_t* x, std::size_t n, const std::int16_t* gamma, const std::int16_t* beta,
           std::int32_t* out) const;
  std::int64_t epsilon_q() const { return eps_q_; }

 private:
  std::uint32_t mean_frac_bits_;
  std::uint32_t rsqrt_bits_;
  std::uint32_t affine_frac_bits_;
  std::uint32_t out_frac_bits_;
  std::int64_t eps_q_;
};

// Throws InputError unless x is rows x cols, gamma and beta have cols entries, 1 <= cols <=
// row_buffer_elems and every x fits ln_input_bits.
void check_layernorm_input(const VectorParams& params, std::size_t rows, std::size_t cols,
                           const std::vector<std::int32_t>& x, const std::vector<std::int16_t>& gamma,
                           const std::vector<std::int16_t>& beta);

RowPipelineShape layernorm_shape(const VectorParams& params);

struct LayernormResult {
  std::vector<std::int32_t> out;  // rows x cols
  std::vector<RowTiming> rows;
  Cycle done = 0;
};

template <class T>
struct ElementwiseResult {
  std::vector<T> out;
  Cycle start = 0;  // first beat issued
  Cycle done = 0;   // last beat written
};

class VectorEngine {
 public:
  struct Counters {
    std::uint64_t ln_rows = 0;
    std::uint64_t ln_elements = 0;
    std::uint64_t ln_beats = 0;  // per pass
    std::uint64_t ln_slot_wait_cycles = 0;
    std::uint64_t gelu_elements = 0;
    std::uint64_t add_elements = 0;
    std::uint64_t add_saturations = 0;  // residual sums clipped to int8
    std::uint64_t ew_beats = 0;
    std::uint64_t ew_order_wait_cycles = 0;  // first beats held back to keep results in order
    bool operator==(const Counters& o) const {
      return ln_rows == o.ln_rows && ln_elements == o.ln_elements && ln_beats == o.ln_beats &&
             ln_slot_wait_cycles == o.ln_slot_wait_cycles && gelu_elements == o.gelu_elements &&
             add_elements == o.add_elements && add_saturations == o.add_saturations &&
             ew_beats == o.ew_beats && ew_order_wait_cycles == o.ew_order_wait_cycles;
    }
  };

  // Throws InputError when params.validate() fails.
  explicit VectorEngine(const VectorParams& params);

  // Layernorm of each row of x (rows x cols), all present from cycle `ready`.
  LayernormResult layernorm(Cycle ready, std::size_t rows, std::size_t cols,
                            const std::vector<std::int32_t>& x, const std::vector<std::int16_t>& gamma,
                            const std::vector<std::int16_t>& beta);
  // Elementwise jobs: all inputs present from cycle `ready`; at least one element.
  ElementwiseResult<std::int32_t> gelu(Cycle ready, const std::vector<std::int32_t>& x);
  ElementwiseResult<std::int8_t> residual_add(Cycle ready, const std::vector<std::int8_t>& a,
                                              const std::vector<std::int8_t>& b);

  // Cycles from which each datapath is idle (0 before any job).
  Cycle layernorm_done() const { return ln_schedule_.done(); }
  Cycle elementwise_done() const { return ew_last_done_; }

  // Closed forms on an idle unit with everything ready at cycle 0.
  static Cycle layernorm_cycles(const VectorParams& params, std::uint64_t rows, std::uint64_t cols);
  static Cycle elementwise_cycles(const VectorParams& params, ElementwiseOp op, std::uint64_t n);

  const VectorParams& params() const { return params_; }
  const Counters& counters() const { return counters_; }

 private:
  // Schedules an elementwise job of n elements; returns its first-beat cycle.
  Cycle schedule_elementwise(Cycle ready, ElementwiseOp op, std::size_t n);

  VectorParams params_;
  GeluArithmetic gelu_;
  LayernormArithmetic ln_;
  RowPipelineSchedule ln_schedule_;
  Cycle ew_free_ = 0;       // first cycle the elementwise issue port is free
  Cycle ew_last_done_ = 0;  // completion cycle of the last elementwise beat
  bool ew_any_ = false;
  Counters counters_;
};

// Per-beat layernorm arithmetic for the step model.
class LayernormKernel {
 public:
  struct Context {
    std::shared_ptr<const std::vector<std::int16_t>> gamma, beta;
  };
  using Stat1 = std::int64_t;  // mean
  using Stat2 = LayernormArithmetic::Rstd;

  explicit LayernormKernel(const LayernormArithmetic& arith) : arith_(&arith) {}
  std::int64_t pass1_identity() const { return 0; }
  std::int64_t pass1_beat(const std::int64_t* x, std::size_t n) const;
  std::int64_t pass1_combine(std::int64_t acc, std::int64_t part) const { return acc + part; }
  Stat1 gap12(std::int64_t acc, std::size_t n) const { return arith_->mean(acc, n); }
  std::int64_t pass2_beat(const Stat1& mean, std::int64_t* v, std::size_t n) const;
  Stat2 gap23(std::int64_t sum_sq, const Stat1&, std::size_t n) const { return arith_->rstd(sum_sq, n); }
  void pass3_beat(const Context& ctx, const Stat1&, const Stat2& r, std::size_t col0, const std::int64_t* v,
                  std::size_t n, std::int32_t* out) const;

 private:
  const LayernormArithmetic* arith_;  // not owned; outlives the kernel
};

// Clock-by-clock reference of VectorEngine: both datapaths advance one cycle per step().
class VectorStepModel {
 public:
  explicit VectorStepModel(const VectorParams& params);
  VectorStepModel(const VectorStepModel&) = delete;
  VectorStepModel& operator=(const VectorStepModel&) = delete;

  // Each returns a job id for the matching result accessor below.
  std::size_t enqueue_layernorm(Cycle ready, std::size_t rows, std::size_t cols,
                                const std::vector<std::int32_t>& x, const std::vector<std::int16_t>& gamma,
                                const std::vector<std::int16_t>& beta);
  std::size_t enqueue_gelu(Cycle ready, const std::vector<std::int32_t>& x);
  std::size_t enqueue_residual_add(Cycle ready, const std::vector<std::int8_t>& a,
                                   const std::vector<std::int8_t>& b);

  void step();
  Cycle now() const { return now_; }
  bool idle() const;

  LayernormResult layernorm_result(std::size_t job) const;
  ElementwiseResult<std::int32_t> gelu_result(std::size_t job) const;
  ElementwiseResult<std::int8_t> residual_add_result(std::size_t job) const;
  VectorEngine::Counters counters() const;

 private:
  struct EwJob {
    ElementwiseOp op;
    Cycle ready;
    std::size_t n;
    std::size_t beats;
    std::vector<std::int32_t> x;    // GELU input
    std::vector<std::int8_t> a, b;  // add inputs
    std::vector<std::int32_t> out32;
    std::vector<std::int8_t> out8;
    std::size_t issued = 0, arrived = 0;
    Cycle start = kNever, done = kNever;
  };
  struct EwBeat {
    std::size_t job = 0;
    std::size_t first = 0;
    std::size_t n = 0;
    std::vector<std::int32_t> v;  // results, computed at issue
  };
  struct LnJob {
    std::size_t rows, cols;
    std::size_t first_row;  // index in the row pipeline
  };

  std::uint32_t depth(ElementwiseOp op) const;

  VectorParams params_;
  GeluArithmetic gelu_;
  LayernormArithmetic ln_;
  RowPipelineStepModel<LayernormKernel> ln_model_;
  std::vector<LnJob> ln_jobs_;
  std::vector<EwJob> ew_jobs_;
  std::size_t ew_next_ = 0;  // job whose beats issue next
  detail::ShiftPipe<EwBeat> ew_pipe_;
  Cycle now_ = 0;
  VectorEngine::Counters counters_;
};

}  // namespace tacsim::sfu
