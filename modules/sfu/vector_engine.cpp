#include "modules/sfu/vector_engine.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "modules/common/error.h"

namespace tacsim::sfu {

using detail::range_error;

namespace {

const VectorParams& validated(const VectorParams& p) {
  const std::string err = p.validate();
  if (!err.empty()) throw InputError(err);
  return p;
}

double gelu_exact(double x) {
  return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
}

std::int32_t saturate32(std::int64_t v) {
  return static_cast<std::int32_t>(std::clamp<std::int64_t>(v, std::numeric_limits<std::int32_t>::min(),
                                                            std::numeric_limits<std::int32_t>::max()));
}

}  // namespace

std::string VectorParams::validate() const {
  constexpr std::uint64_t kMaxLatency = 1u << 16;
  const std::string checks[] = {
      range_error("lanes", lanes, 1, 1u << 16),
      range_error("gelu_latency_cycles", gelu_latency_cycles, 1, kMaxLatency),
      range_error("add_latency_cycles", add_latency_cycles, 1, kMaxLatency),
      range_error("sum_latency_cycles", sum_latency_cycles, 1, kMaxLatency),
      range_error("mean_latency_cycles", mean_latency_cycles, 1, kMaxLatency),
      range_error("var_latency_cycles", var_latency_cycles, 1, kMaxLatency),
      range_error("rsqrt_latency_cycles", rsqrt_latency_cycles, 1, kMaxLatency),
      range_error("norm_latency_cycles", norm_latency_cycles, 1, kMaxLatency),
      range_error("row_buffers", row_buffers, 1, 64),
      range_error("row_buffer_elems", row_buffer_elems, 1, 1u << 24),
      range_error("gelu_frac_bits", gelu_frac_bits, 0, 24),
      range_error("gelu_range_log2", gelu_range_log2, 0, 6),
      range_error("gelu_lut_bits", gelu_lut_bits, 1,
                  std::min<std::uint32_t>(12, gelu_frac_bits + gelu_range_log2 + 1)),
      range_error("ln_input_bits", ln_input_bits, 2, 24),
      range_error("ln_mean_frac_bits", ln_mean_frac_bits, 0, 16),
      range_error("ln_rsqrt_bits", ln_rsqrt_bits, 2, 24),
      range_error("ln_affine_frac_bits", ln_affine_frac_bits, 0, 15),
      range_error("ln_out_frac_bits", ln_out_frac_bits, 0, ln_rsqrt_bits + ln_affine_frac_bits - 1),
  };
  for (const std::string& c : checks)
    if (!c.empty()) return c;
  // d q gamma < 2^(in + M + R + 15) and beta 2^Z < 2^(15 + R + in + M) must stay below 2^61.
  const std::uint32_t width = ln_input_bits + ln_mean_frac_bits + ln_rsqrt_bits;
  if (width > 45) {
    return "ln_input_bits: ln_input_bits + ln_mean_frac_bits + ln_rsqrt_bits must be at most 45, got " +
           std::to_string(width);
  }
  // sum d^2 <= L 2^(2 (in + M)) must fit 62 bits.
  const std::uint32_t sq = 2 * (ln_input_bits + ln_mean_frac_bits) + ceil_log2(row_buffer_elems);
  if (sq > 62) {
    return "row_buffer_elems: 2 * (ln_input_bits + ln_mean_frac_bits) + ceil(log2(row_buffer_elems)) must be "
           "at most 62, got " +
           std::to_string(sq);
  }
  const double eps_q = std::ldexp(ln_epsilon_lsb2, 2 * static_cast<int>(ln_mean_frac_bits));
  const double eps_max = std::ldexp(1.0, 2 * static_cast<int>(ln_input_bits));
  if (!(eps_q >= 0.5 && ln_epsilon_lsb2 <= eps_max)) {
    std::ostringstream os;
    os << "ln_epsilon_lsb2: must be between 2^-(2 * ln_mean_frac_bits + 1) = "
       << std::ldexp(1.0, -2 * static_cast<int>(ln_mean_frac_bits) - 1)
       << " and 2^(2 * ln_input_bits) = " << eps_max << ", got " << ln_epsilon_lsb2;
    return os.str();
  }
  return "";
}

GeluArithmetic::GeluArithmetic(const VectorParams& p)
    : frac_bits_(p.gelu_frac_bits),
      range_log2_(p.gelu_range_log2),
      seg_shift_(p.gelu_frac_bits + p.gelu_range_log2 + 1 - p.gelu_lut_bits) {
  const std::size_t segments = std::size_t{1} << p.gelu_lut_bits;
  const double range = std::ldexp(1.0, static_cast<int>(range_log2_));
  lut_.resize(segments + 1);
  for (std::size_t j = 0; j <= segments; ++j) {
    const double x = -range + 2 * range * static_cast<double>(j) / static_cast<double>(segments);
    lut_[j] = std::llround(std::ldexp(gelu_exact(x), static_cast<int>(frac_bits_)));
  }
}

std::int32_t GeluArithmetic::apply(std::int32_t v) const {
  const std::int64_t half_range = std::int64_t{1} << (frac_bits_ + range_log2_);
  if (v < -half_range) return 0;
  if (v >= half_range) return v;
  const std::int64_t u = v + half_range;
  const std::int64_t j = u >> seg_shift_;  // u >= 0
  const std::int64_t r = u - (j << seg_shift_);
  return static_cast<std::int32_t>(lut_[j] + shift_round((lut_[j + 1] - lut_[j]) * r, seg_shift_));
}

std::int8_t residual_add(std::int8_t a, std::int8_t b, bool& saturated) {
  const int s = int{a} + int{b};
  saturated = s > 127 || s < -128;
  return static_cast<std::int8_t>(std::clamp(s, -128, 127));
}

LayernormArithmetic::LayernormArithmetic(const VectorParams& p)
    : mean_frac_bits_(p.ln_mean_frac_bits),
      rsqrt_bits_(p.ln_rsqrt_bits),
      affine_frac_bits_(p.ln_affine_frac_bits),
      out_frac_bits_(p.ln_out_frac_bits),
      eps_q_(std::llround(std::ldexp(p.ln_epsilon_lsb2, 2 * static_cast<int>(p.ln_mean_frac_bits)))) {}

std::int64_t LayernormArithmetic::mean(std::int64_t sum, std::size_t n) const {
  return div_round(sum * (std::int64_t{1} << mean_frac_bits_), static_cast<std::int64_t>(n));
}

LayernormArithmetic::Rstd LayernormArithmetic::rstd(std::int64_t sum_sq, std::size_t n) const {
  const std::int64_t v = div_round(sum_sq, static_cast<std::int64_t>(n)) + eps_q_;  // >= 1 by validate()
  const std::uint32_t e = bit_length(static_cast<std::uint64_t>(v));
  Rstd r;
  r.shift = rsqrt_bits_ - 1 + (e + 1) / 2;
  // v < 2^53 is exact in a double, and sqrt and divide are correctly rounded, so the only rounding that
  // matters is the final one to R bits.
  r.mantissa = std::llround(std::ldexp(1.0, static_cast<int>(r.shift)) / std::sqrt(static_cast<double>(v)));
  return r;
}

std::int32_t LayernormArithmetic::normalise(std::int64_t d, const Rstd& r, std::int16_t gamma,
                                            std::int16_t beta) const {
  const std::int64_t acc =
      d * r.mantissa * gamma + static_cast<std::int64_t>(beta) * (std::int64_t{1} << r.shift);
  // shift + A - O >= R + A - O >= 1 by validate().
  return saturate32(shift_round(acc, r.shift + affine_frac_bits_ - out_frac_bits_));
}

void LayernormArithmetic::row(const std::int32_t* x, std::size_t n, const std::int16_t* gamma,
                              const std::int16_t* beta, std::int32_t* out) const {
  std::int64_t sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += x[i];
  const std::int64_t mu = mean(sum, n);
  std::int64_t sum_sq = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t d = deviation(x[i], mu);
    sum_sq += d * d;
  }
  const Rstd r = rstd(sum_sq, n);
  for (std::size_t i = 0; i < n; ++i) out[i] = normalise(deviation(x[i], mu), r, gamma[i], beta[i]);
}

void check_layernorm_input(const VectorParams& p, std::size_t rows, std::size_t cols,
                           const std::vector<std::int32_t>& x, const std::vector<std::int16_t>& gamma,
                           const std::vector<std::int16_t>& beta) {
  if (cols < 1 || cols > p.row_buffer_elems) {
    throw InputError("layernorm: cols must be 1 to row_buffer_elems = " + std::to_string(p.row_buffer_elems) +
                     ", got " + std::to_string(cols));
  }
  if (x.size() != rows * cols) {
    throw InputError("layernorm: x has " + std::to_string(x.size()) +
                     " values, expected rows * cols = " + std::to_string(rows * cols));
  }
  if (gamma.size() != cols || beta.size() != cols) {
    throw InputError("layernorm: gamma and beta must have cols = " + std::to_string(cols) + " values, got " +
                     std::to_string(gamma.size()) + " and " + std::to_string(beta.size()));
  }
  const std::int64_t limit = std::int64_t{1} << (p.ln_input_bits - 1);
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i] < -limit || x[i] >= limit) {
      throw InputError("layernorm: x[" + std::to_string(i / cols) + "][" + std::to_string(i % cols) +
                       "] = " + std::to_string(x[i]) +
                       " does not fit ln_input_bits = " + std::to_string(p.ln_input_bits));
    }
  }
}

RowPipelineShape layernorm_shape(const VectorParams& p) {
  RowPipelineShape s;
  s.lanes = p.lanes;
  s.pass1_latency_cycles = p.sum_latency_cycles;
  s.gap12_latency_cycles = p.mean_latency_cycles;
  s.pass2_latency_cycles = p.var_latency_cycles;
  s.gap23_latency_cycles = p.rsqrt_latency_cycles;
  s.pass3_latency_cycles = p.norm_latency_cycles;
  s.row_buffers = p.row_buffers;
  s.row_buffer_elems = p.row_buffer_elems;
  return s;
}

VectorEngine::VectorEngine(const VectorParams& params)
    : params_(validated(params)), gelu_(params_), ln_(params_), ln_schedule_(layernorm_shape(params_)) {}

LayernormResult VectorEngine::layernorm(Cycle ready, std::size_t rows, std::size_t cols,
                                        const std::vector<std::int32_t>& x,
                                        const std::vector<std::int16_t>& gamma,
                                        const std::vector<std::int16_t>& beta) {
  check_layernorm_input(params_, rows, cols, x, gamma, beta);
  LayernormResult result;
  result.out.resize(rows * cols);
  const Cycle waited = ln_schedule_.slot_wait_cycles();
  for (std::size_t r = 0; r < rows; ++r) {
    ln_.row(x.data() + r * cols, cols, gamma.data(), beta.data(), result.out.data() + r * cols);
    result.rows.push_back(ln_schedule_.push(ready, cols));
  }
  counters_.ln_rows += rows;
  counters_.ln_elements += rows * cols;
  counters_.ln_beats += rows * ceil_div(cols, params_.lanes);
  counters_.ln_slot_wait_cycles += ln_schedule_.slot_wait_cycles() - waited;
  result.done = ln_schedule_.done();
  return result;
}

Cycle VectorEngine::schedule_elementwise(Cycle ready, ElementwiseOp op, std::size_t n) {
  if (n == 0) throw InputError("vector unit: an elementwise job needs at least one element");
  const Cycle depth = op == ElementwiseOp::kGelu ? params_.gelu_latency_cycles : params_.add_latency_cycles;
  const Cycle beats = ceil_div(n, params_.lanes);
  const Cycle port_ready = std::max(ready, ew_free_);
  Cycle start = port_ready;
  // In-order completion: start + depth > previous done.
  if (ew_any_ && ew_last_done_ + 1 > depth) start = std::max(start, ew_last_done_ + 1 - depth);
  counters_.ew_order_wait_cycles += start - port_ready;
  counters_.ew_beats += beats;
  ew_free_ = start + beats;
  ew_last_done_ = start + beats - 1 + depth;
  ew_any_ = true;
  return start;
}

ElementwiseResult<std::int32_t> VectorEngine::gelu(Cycle ready, const std::vector<std::int32_t>& x) {
  ElementwiseResult<std::int32_t> r;
  r.start = schedule_elementwise(ready, ElementwiseOp::kGelu, x.size());
  r.done = ew_last_done_;
  r.out.resize(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) r.out[i] = gelu_.apply(x[i]);
  counters_.gelu_elements += x.size();
  return r;
}

ElementwiseResult<std::int8_t> VectorEngine::residual_add(Cycle ready, const std::vector<std::int8_t>& a,
                                                          const std::vector<std::int8_t>& b) {
  if (a.size() != b.size()) {
    throw InputError("residual add: operands have " + std::to_string(a.size()) + " and " +
                     std::to_string(b.size()) + " elements, expected equal sizes");
  }
  ElementwiseResult<std::int8_t> r;
  r.start = schedule_elementwise(ready, ElementwiseOp::kResidualAdd, a.size());
  r.done = ew_last_done_;
  r.out.resize(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    bool sat = false;
    r.out[i] = sfu::residual_add(a[i], b[i], sat);
    counters_.add_saturations += sat ? 1 : 0;
  }
  counters_.add_elements += a.size();
  return r;
}

Cycle VectorEngine::layernorm_cycles(const VectorParams& params, std::uint64_t rows, std::uint64_t cols) {
  return RowPipelineSchedule::uniform_done(layernorm_shape(validated(params)), rows, cols);
}

Cycle VectorEngine::elementwise_cycles(const VectorParams& params, ElementwiseOp op, std::uint64_t n) {
  validated(params);
  if (n == 0) return 0;
  const Cycle depth = op == ElementwiseOp::kGelu ? params.gelu_latency_cycles : params.add_latency_cycles;
  return ceil_div(n, params.lanes) - 1 + depth;
}

std::int64_t LayernormKernel::pass1_beat(const std::int64_t* x, std::size_t n) const {
  std::int64_t s = 0;
  for (std::size_t i = 0; i < n; ++i) s += x[i];
  return s;
}

std::int64_t LayernormKernel::pass2_beat(const Stat1& mean, std::int64_t* v, std::size_t n) const {
  std::int64_t s = 0;
  for (std::size_t i = 0; i < n; ++i) {
    v[i] = arith_->deviation(v[i], mean);
    s += v[i] * v[i];
  }
  return s;
}

void LayernormKernel::pass3_beat(const Context& ctx, const Stat1&, const Stat2& r, std::size_t col0,
                                 const std::int64_t* v, std::size_t n, std::int32_t* out) const {
  for (std::size_t i = 0; i < n; ++i) {
    out[col0 + i] = arith_->normalise(v[i], r, (*ctx.gamma)[col0 + i], (*ctx.beta)[col0 + i]);
  }
}

VectorStepModel::VectorStepModel(const VectorParams& params)
    : params_(validated(params)),
      gelu_(params_),
      ln_(params_),
      ln_model_(layernorm_shape(params_), LayernormKernel(ln_)),
      ew_pipe_(std::max(params_.gelu_latency_cycles, params_.add_latency_cycles)) {}

std::uint32_t VectorStepModel::depth(ElementwiseOp op) const {
  return op == ElementwiseOp::kGelu ? params_.gelu_latency_cycles : params_.add_latency_cycles;
}

std::size_t VectorStepModel::enqueue_layernorm(Cycle ready, std::size_t rows, std::size_t cols,
                                               const std::vector<std::int32_t>& x,
                                               const std::vector<std::int16_t>& gamma,
                                               const std::vector<std::int16_t>& beta) {
  check_layernorm_input(params_, rows, cols, x, gamma, beta);
  LayernormKernel::Context ctx{std::make_shared<const std::vector<std::int16_t>>(gamma),
                               std::make_shared<const std::vector<std::int16_t>>(beta)};
  ln_jobs_.push_back(LnJob{rows, cols, ln_model_.rows()});
  for (std::size_t r = 0; r < rows; ++r) {
    const auto first = x.begin() + static_cast<std::ptrdiff_t>(r * cols);
    ln_model_.enqueue(ready, std::vector<std::int32_t>(first, first + static_cast<std::ptrdiff_t>(cols)),
                      ctx);
  }
  counters_.ln_rows += rows;
  counters_.ln_elements += rows * cols;
  return ln_jobs_.size() - 1;
}

std::size_t VectorStepModel::enqueue_gelu(Cycle ready, const std::vector<std::int32_t>& x) {
  if (x.empty()) throw InputError("vector unit: an elementwise job needs at least one element");
  EwJob job{};
  job.op = ElementwiseOp::kGelu;
  job.ready = ready;
  job.n = x.size();
  job.beats = ceil_div(job.n, params_.lanes);
  job.x = x;
  job.out32.resize(job.n);
  ew_jobs_.push_back(std::move(job));
  return ew_jobs_.size() - 1;
}

std::size_t VectorStepModel::enqueue_residual_add(Cycle ready, const std::vector<std::int8_t>& a,
                                                  const std::vector<std::int8_t>& b) {
  if (a.empty()) throw InputError("vector unit: an elementwise job needs at least one element");
  if (a.size() != b.size()) {
    throw InputError("residual add: operands have " + std::to_string(a.size()) + " and " +
                     std::to_string(b.size()) + " elements, expected equal sizes");
  }
  EwJob job{};
  job.op = ElementwiseOp::kResidualAdd;
  job.ready = ready;
  job.n = a.size();
  job.beats = ceil_div(job.n, params_.lanes);
  job.a = a;
  job.b = b;
  job.out8.resize(job.n);
  ew_jobs_.push_back(std::move(job));
  return ew_jobs_.size() - 1;
}

bool VectorStepModel::idle() const {
  if (!ln_model_.idle()) return false;
  return ew_jobs_.empty() || ew_jobs_.back().done != kNever;
}

void VectorStepModel::step() {
  const Cycle t = now_;
  ln_model_.step();
  // Elementwise: the beat leaving the last stage is written.
  if (EwBeat* b = ew_pipe_.shift()) {
    EwJob& job = ew_jobs_[b->job];
    for (std::size_t i = 0; i < b->n; ++i) {
      if (job.op == ElementwiseOp::kGelu) {
        job.out32[b->first + i] = b->v[i];
      } else {
        job.out8[b->first + i] = static_cast<std::int8_t>(b->v[i]);
      }
    }
    if (++job.arrived == job.beats) job.done = t;
  }
  if (ew_next_ < ew_jobs_.size() && ew_jobs_[ew_next_].ready <= t) {
    EwJob& job = ew_jobs_[ew_next_];
    // A beat of depth D enters stage maxD - D; it would complete at or before an older beat exactly when
    // one of stages 0..maxD - D is occupied.
    const std::uint32_t stage = ew_pipe_.depth() - depth(job.op);
    bool clear = true;
    for (std::uint32_t s = 0; s <= stage; ++s) clear = clear && !ew_pipe_.occupied(s);
    if (!clear) {
      ++counters_.ew_order_wait_cycles;  // only first beats can be held: later ones follow at stage + 1
    } else {
      if (job.issued == 0) job.start = t;
      EwBeat& b = ew_pipe_.insert(stage);
      b.job = ew_next_;
      b.first = job.issued * params_.lanes;
      b.n = std::min<std::size_t>(params_.lanes, job.n - b.first);
      b.v.resize(b.n);
      for (std::size_t i = 0; i < b.n; ++i) {
        if (job.op == ElementwiseOp::kGelu) {
          b.v[i] = gelu_.apply(job.x[b.first + i]);
        } else {
          bool sat = false;
          b.v[i] = sfu::residual_add(job.a[b.first + i], job.b[b.first + i], sat);
          counters_.add_saturations += sat ? 1 : 0;
        }
      }
      (job.op == ElementwiseOp::kGelu ? counters_.gelu_elements : counters_.add_elements) += b.n;
      ++counters_.ew_beats;
      if (++job.issued == job.beats) ++ew_next_;
    }
  }
  ++now_;
}

LayernormResult VectorStepModel::layernorm_result(std::size_t job) const {
  const LnJob& j = ln_jobs_[job];
  LayernormResult r;
  r.out.resize(j.rows * j.cols);
  for (std::size_t i = 0; i < j.rows; ++i) {
    const std::vector<std::int32_t>& out = ln_model_.output(j.first_row + i);
    std::copy(out.begin(), out.end(), r.out.begin() + static_cast<std::ptrdiff_t>(i * j.cols));
    r.rows.push_back(ln_model_.timing(j.first_row + i));
  }
  // Rows finish in order, so the datapath is idle after the last row queued so far.
  if (ln_model_.rows() > 0) r.done = ln_model_.timing(ln_model_.rows() - 1).done;
  return r;
}

ElementwiseResult<std::int32_t> VectorStepModel::gelu_result(std::size_t job) const {
  return ElementwiseResult<std::int32_t>{ew_jobs_[job].out32, ew_jobs_[job].start, ew_jobs_[job].done};
}

ElementwiseResult<std::int8_t> VectorStepModel::residual_add_result(std::size_t job) const {
  return ElementwiseResult<std::int8_t>{ew_jobs_[job].out8, ew_jobs_[job].start, ew_jobs_[job].done};
}

VectorEngine::Counters VectorStepModel::counters() const {
  VectorEngine::Counters c = counters_;
  c.ln_beats = ln_model_.beats();
  c.ln_slot_wait_cycles = ln_model_.slot_wait_cycles();
  return c;
}

}  // namespace tacsim::sfu
