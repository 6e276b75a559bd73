#include "modules/sfu/softmax_engine.h"

#include <cmath>
#include <limits>

namespace tacsim::sfu {

namespace {

// log2(e) with 24 fraction bits: round(1.4426950408889634 * 2^24).
constexpr std::uint64_t kLog2eQ24 = 24204406;
constexpr std::uint32_t kLog2eFracBits = 24;
// Fraction bits of 2^-f used by the interpolation below the table index.
constexpr std::uint32_t kInterpBits = 16;

using detail::range_error;

}  // namespace

std::string detail::range_error(const char* field, std::uint64_t value, std::uint64_t lo, std::uint64_t hi) {
  if (value < lo)
    return std::string(field) + ": must be at least " + std::to_string(lo) + ", got " + std::to_string(value);
  if (value > hi)
    return std::string(field) + ": must be at most " + std::to_string(hi) + ", got " + std::to_string(value);
  return "";
}

RowPipelineSchedule::RowPipelineSchedule(const RowPipelineShape& shape)
    : shape_(shape), slot_free_(shape.row_buffers, 0) {}

RowTiming RowPipelineSchedule::push(Cycle ready, std::size_t length) {
  if (length < 1 || length > shape_.row_buffer_elems) {
    throw InputError("row pipeline: row " + std::to_string(rows_) + " has " + std::to_string(length) +
                     " elements, expected 1 to row_buffer_elems " + std::to_string(shape_.row_buffer_elems));
  }
  const Cycle b = ceil_div(length, shape_.lanes);
  Cycle& slot_free = slot_free_[rows_ % shape_.row_buffers];
  RowTiming t;
  const Cycle unit_ready = std::max(ready, unit_free_[0]);
  t.pass1_start = std::max(unit_ready, slot_free);
  slot_wait_cycles_ += t.pass1_start - unit_ready;
  t.pass2_start = std::max<Cycle>(
      t.pass1_start + b - 1 + shape_.pass1_latency_cycles + shape_.gap12_latency_cycles, unit_free_[1]);
  t.pass3_start = std::max<Cycle>(
      t.pass2_start + b - 1 + shape_.pass2_latency_cycles + shape_.gap23_latency_cycles, unit_free_[2]);
  t.done = t.pass3_start + b - 1 + shape_.pass3_latency_cycles;
  unit_free_[0] = t.pass1_start + b;
  unit_free_[1] = t.pass2_start + b;
  unit_free_[2] = t.pass3_start + b;
  slot_free = t.pass3_start + b;
  last_done_ = t.done;
  ++rows_;
  return t;
}

Cycle RowPipelineSchedule::uniform_done(const RowPipelineShape& shape, std::uint64_t rows,
                                        std::uint64_t length) {
  if (rows == 0) return 0;
  const Cycle b = ceil_div(length, shape.lanes);
  const Cycle c = 2 * (b - 1) + shape.pass1_latency_cycles + shape.gap12_latency_cycles +
                  shape.pass2_latency_cycles + shape.gap23_latency_cycles;
  const std::uint64_t s = shape.row_buffers;
  // With equal rows no unit ever waits for the previous row in the next unit (each is busy B cycles per
  // row and the rows' offsets between units are equal), so only the slot recurrence
  // s1(r) = max(s1(r-1) + B, s1(r-S) + C + B) remains; its solution is periodic in groups of S rows.
  const std::uint64_t r = rows - 1;
  const Cycle first = (r / s) * std::max<Cycle>(s * b, c + b) + (r % s) * b;
  return first + c + b - 1 + shape.pass3_latency_cycles;
}

std::string SoftmaxParams::validate() const {
  constexpr std::uint64_t kMaxLatency = 1u << 16;
  const std::string checks[] = {
      range_error("lanes", lanes, 1, 1u << 16),
      range_error("max_latency_cycles", max_latency_cycles, 1, kMaxLatency),
      range_error("exp_latency_cycles", exp_latency_cycles, 1, kMaxLatency),
      range_error("recip_latency_cycles", recip_latency_cycles, 1, kMaxLatency),
      range_error("norm_latency_cycles", norm_latency_cycles, 1, kMaxLatency),
      range_error("row_buffers", row_buffers, 1, 64),
      range_error("row_buffer_elems", row_buffer_elems, 1, 1u << 24),
      range_error("score_frac_bits", score_frac_bits, 0, 30),
      range_error("exp_frac_bits", exp_frac_bits, 1, 24),
      range_error("exp_lut_bits", exp_lut_bits, 1, 12),
      range_error("recip_bits", recip_bits, 2, 24),
      range_error("prob_frac_bits", prob_frac_bits, 1, 30),
  };
  for (const std::string& c : checks)
    if (!c.empty()) return c;
  // The normalise shift s - 1 + R - P is at least E + R - P and must be at least 1.
  if (prob_frac_bits >= exp_frac_bits + recip_bits) {
    return "prob_frac_bits: must be less than exp_frac_bits + recip_bits = " +
           std::to_string(exp_frac_bits + recip_bits) + ", got " + std::to_string(prob_frac_bits);
  }
  // The reciprocal divides 2^(s - 1 + R) with s <= E + ceil(log2 L) + 1 bits of row sum.
  const std::uint32_t width = exp_frac_bits + recip_bits + ceil_log2(row_buffer_elems);
  if (width > 62) {
    return "row_buffer_elems: exp_frac_bits + recip_bits + ceil(log2(row_buffer_elems)) must be at most "
           "62, got " +
           std::to_string(width);
  }
  return "";
}

SoftmaxArithmetic::SoftmaxArithmetic(const SoftmaxParams& params)
    : score_frac_bits_(params.score_frac_bits),
      exp_frac_bits_(params.exp_frac_bits),
      exp_lut_bits_(params.exp_lut_bits),
      recip_bits_(params.recip_bits),
      prob_frac_bits_(params.prob_frac_bits) {
  const std::size_t segments = std::size_t{1} << exp_lut_bits_;
  lut_.resize(segments + 1);
  for (std::size_t j = 0; j <= segments; ++j) {
    lut_[j] = static_cast<std::uint32_t>(
        std::llround(std::ldexp(std::exp2(-static_cast<double>(j) / segments), exp_frac_bits_)));
  }
}

std::uint32_t SoftmaxArithmetic::exp_neg(std::int64_t diff) const {
  // t = -diff * log2(e): at most 2^32 * 2^25 < 2^57, with score_frac_bits + 24 fraction bits.
  const std::uint64_t u = static_cast<std::uint64_t>(-diff);
  const std::uint64_t t = u * kLog2eQ24;
  const std::uint32_t fb = score_frac_bits_ + kLog2eFracBits;
  const std::uint64_t n = t >> fb;
  // 2^E * 2^-f <= 2^E, so for n >= E + 2 the result rounds to 0.
  if (n >= exp_frac_bits_ + 2) return 0;
  const std::uint64_t f = t & ((std::uint64_t{1} << fb) - 1);
  const std::uint32_t keep = exp_lut_bits_ + kInterpBits;
  const std::uint64_t fq = fb >= keep ? f >> (fb - keep) : f << (keep - fb);
  const std::uint64_t j = fq >> kInterpBits;
  const std::uint64_t r = fq & ((std::uint64_t{1} << kInterpBits) - 1);
  const std::uint64_t drop = lut_[j] - lut_[j + 1];  // table is decreasing
  const std::uint64_t g = lut_[j] - ((drop * r + (std::uint64_t{1} << (kInterpBits - 1))) >> kInterpBits);
  if (n == 0) return static_cast<std::uint32_t>(g);
  return static_cast<std::uint32_t>((g + (std::uint64_t{1} << (n - 1))) >> n);
}

SoftmaxArithmetic::Reciprocal SoftmaxArithmetic::reciprocal(std::uint64_t sum) const {
  const std::uint32_t s = bit_length(sum);
  const std::uint32_t k = s - 1 + recip_bits_;
  Reciprocal r;
  r.mantissa = ((std::uint64_t{1} << k) + sum / 2) / sum;
  r.shift = k - prob_frac_bits_;  // >= exp_frac_bits + recip_bits - prob_frac_bits >= 1 by validate()
  return r;
}

std::int32_t SoftmaxArithmetic::normalise(std::uint64_t e, const Reciprocal& r) const {
  return static_cast<std::int32_t>((e * r.mantissa + (std::uint64_t{1} << (r.shift - 1))) >> r.shift);
}

void SoftmaxArithmetic::row(const std::int32_t* scores, std::size_t n, std::int32_t* probs) const {
  std::int64_t m = scores[0];
  for (std::size_t i = 1; i < n; ++i) m = std::max<std::int64_t>(m, scores[i]);
  std::vector<std::uint32_t> e(n);
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    e[i] = exp_neg(scores[i] - m);
    sum += e[i];
  }
  const Reciprocal r = reciprocal(sum);
  for (std::size_t i = 0; i < n; ++i) probs[i] = normalise(e[i], r);
}

std::vector<std::size_t> softmax_row_lengths(const SoftmaxTile& tile, const SoftmaxParams& params) {
  if (tile.scores.size() != tile.rows * tile.cols) {
    throw InputError("softmax tile: scores has " + std::to_string(tile.scores.size()) +
                     " values, expected rows * cols = " + std::to_string(tile.rows * tile.cols));
  }
  if (!tile.row_lengths.empty() && tile.row_lengths.size() != tile.rows) {
    throw InputError("softmax tile: row_lengths has " + std::to_string(tile.row_lengths.size()) +
                     " entries, expected rows = " + std::to_string(tile.rows));
  }
  std::vector<std::size_t> lengths(tile.rows);
  for (std::size_t i = 0; i < tile.rows; ++i) {
    std::size_t len = tile.row_lengths.empty() ? tile.cols : tile.row_lengths[i];
    if (len < 1 || len > tile.cols) {
      throw InputError("softmax tile: row_lengths[" + std::to_string(i) +
                       "] must be 1 to cols = " + std::to_string(tile.cols) + ", got " + std::to_string(len));
    }
    if (tile.causal) len = std::min(len, tile.query_offset + i + 1);
    if (len > params.row_buffer_elems) {
      throw InputError("softmax tile: row " + std::to_string(i) + " has " + std::to_string(len) +
                       " elements, more than row_buffer_elems = " + std::to_string(params.row_buffer_elems));
    }
    lengths[i] = len;
  }
  return lengths;
}

RowPipelineShape softmax_shape(const SoftmaxParams& p) {
  RowPipelineShape s;
  s.lanes = p.lanes;
  s.pass1_latency_cycles = p.max_latency_cycles;
  s.gap12_latency_cycles = 0;  // the max register feeds the exp unit directly
  s.pass2_latency_cycles = p.exp_latency_cycles;
  s.gap23_latency_cycles = p.recip_latency_cycles;
  s.pass3_latency_cycles = p.norm_latency_cycles;
  s.row_buffers = p.row_buffers;
  s.row_buffer_elems = p.row_buffer_elems;
  return s;
}

namespace {
const SoftmaxParams& validated(const SoftmaxParams& p) {
  const std::string err = p.validate();
  if (!err.empty()) throw InputError(err);
  return p;
}
}  // namespace

SoftmaxEngine::SoftmaxEngine(const SoftmaxParams& params)
    : params_(validated(params)), arith_(params_), schedule_(softmax_shape(params_)) {}

RowTiming SoftmaxEngine::push_row(Cycle ready, const std::int32_t* scores, std::size_t length,
                                  std::int32_t* probs) {
  const RowTiming t = schedule_row(ready, length);
  arith_.row(scores, length, probs);
  return t;
}

RowTiming SoftmaxEngine::schedule_row(Cycle ready, std::size_t length) {
  if (length < 1 || length > params_.row_buffer_elems) {
    throw InputError(
        "softmax: row " + std::to_string(counters_.rows) + " has " + std::to_string(length) +
        " elements, expected 1 to row_buffer_elems = " + std::to_string(params_.row_buffer_elems));
  }
  const Cycle waited = schedule_.slot_wait_cycles();
  const RowTiming t = schedule_.push(ready, length);
  ++counters_.rows;
  counters_.elements += length;
  counters_.beats += ceil_div(length, params_.lanes);
  counters_.slot_wait_cycles += schedule_.slot_wait_cycles() - waited;
  return t;
}

SoftmaxTileResult SoftmaxEngine::run_tile(Cycle ready, const SoftmaxTile& tile) {
  const std::vector<std::size_t> lengths = softmax_row_lengths(tile, params_);
  SoftmaxTileResult result;
  result.probs.assign(tile.rows * tile.cols, 0);
  for (std::size_t i = 0; i < tile.rows; ++i) {
    result.rows.push_back(
        push_row(ready, tile.scores.data() + i * tile.cols, lengths[i], result.probs.data() + i * tile.cols));
    counters_.masked_elements += tile.cols - lengths[i];
  }
  result.done = done_cycle();
  return result;
}

Cycle SoftmaxEngine::cycles(const SoftmaxParams& params, std::uint64_t rows, std::uint64_t length) {
  return RowPipelineSchedule::uniform_done(softmax_shape(validated(params)), rows, length);
}

std::int64_t SoftmaxKernel::pass1_identity() const {
  return std::numeric_limits<std::int64_t>::min();
}

std::int64_t SoftmaxKernel::pass1_beat(const std::int64_t* x, std::size_t n) const {
  std::int64_t m = x[0];
  for (std::size_t i = 1; i < n; ++i) m = std::max(m, x[i]);
  return m;
}

std::int64_t SoftmaxKernel::pass2_beat(const Stat1& max, std::int64_t* v, std::size_t n) const {
  std::int64_t sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    v[i] = arith_->exp_neg(v[i] - max);
    sum += v[i];
  }
  return sum;
}

SoftmaxKernel::Stat2 SoftmaxKernel::gap23(std::int64_t sum, const Stat1&, std::size_t) const {
  return arith_->reciprocal(static_cast<std::uint64_t>(sum));
}

void SoftmaxKernel::pass3_beat(const Context&, const Stat1&, const Stat2& recip, std::size_t col0,
                               const std::int64_t* v, std::size_t n, std::int32_t* out) const {
  for (std::size_t i = 0; i < n; ++i)
    out[col0 + i] = arith_->normalise(static_cast<std::uint64_t>(v[i]), recip);
}

SoftmaxStepModel::SoftmaxStepModel(const SoftmaxParams& params)
    : params_(validated(params)), arith_(params_), model_(softmax_shape(params_), SoftmaxKernel(arith_)) {}

std::size_t SoftmaxStepModel::enqueue(Cycle ready, std::vector<std::int32_t> scores) {
  elements_ += scores.size();
  return model_.enqueue(ready, std::move(scores));
}

SoftmaxTileResult SoftmaxStepModel::run_tile(Cycle ready, const SoftmaxTile& tile) {
  const std::vector<std::size_t> lengths = softmax_row_lengths(tile, params_);
  std::vector<std::size_t> ids;
  for (std::size_t i = 0; i < tile.rows; ++i) {
    const auto first = tile.scores.begin() + static_cast<std::ptrdiff_t>(i * tile.cols);
    ids.push_back(
        enqueue(ready, std::vector<std::int32_t>(first, first + static_cast<std::ptrdiff_t>(lengths[i]))));
    masked_elements_ += tile.cols - lengths[i];
  }
  while (!idle()) step();
  SoftmaxTileResult result;
  result.probs.assign(tile.rows * tile.cols, 0);
  for (std::size_t i = 0; i < tile.rows; ++i) {
    const std::vector<std::int32_t>& out = model_.output(ids[i]);
    std::copy(out.begin(), out.end(), result.probs.begin() + static_cast<std::ptrdiff_t>(i * tile.cols));
    result.rows.push_back(model_.timing(ids[i]));
  }
  // Rows finish in order, so the unit is idle after the last queued row.
  if (model_.rows() > 0) result.done = model_.timing(model_.rows() - 1).done;
  return result;
}

SoftmaxEngine::Counters SoftmaxStepModel::counters() const {
  SoftmaxEngine::Counters c;
  c.rows = model_.rows();
  c.elements = elements_;
  c.beats = model_.beats();
  c.masked_elements = masked_elements_;
  c.slot_wait_cycles = model_.slot_wait_cycles();
  return c;
}

}  // namespace tacsim::sfu
