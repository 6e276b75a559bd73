#pragma once
// Pipelined softmax unit after STA (Fang, Zhou, Wang, "An Algorithm-Hardware Co-Optimized Framework for
// Accelerating N:M Sparse Transformers", IEEE TVLSI 2022): attention scores stay in an on-chip row buffer
// and make three passes over it (row max, exp and sum, normalise), so they never go back to DRAM.
//
// The three-pass row pipeline defined here (RowPipelineSchedule, RowPipelineStepModel) is shared with the
// layernorm datapath of the vector unit (vector_engine.h), which has the same structure.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "modules/common/error.h"
#include "modules/common/types.h"

namespace tacsim::sfu {

inline std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) {
  return (a + b - 1) / b;
}

// Number of significant bits: 0 for 0, 1 for 1, 3 for 5.
inline std::uint32_t bit_length(std::uint64_t v) {
  std::uint32_t n = 0;
  for (; v != 0; v >>= 1) ++n;
  return n;
}

// Smallest n with 2^n >= v (0 for v <= 1).
inline std::uint32_t ceil_log2(std::uint64_t v) {
  return v <= 1 ? 0 : bit_length(v - 1);
}

// floor(a / b) for b > 0 (C++ division truncates towards zero).
inline std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

// Nearest integer to a / b for b > 0, halves rounded up (towards +infinity).
inline std::int64_t div_round(std::int64_t a, std::int64_t b) {
  return floor_div(2 * a + b, 2 * b);
}

// Nearest integer to a / 2^sh, halves rounded up; sh may be 0. Written with floor_div so that negative a
// needs no implementation-defined right shift.
inline std::int64_t shift_round(std::int64_t a, std::uint32_t sh) {
  if (sh == 0) return a;
  return floor_div(a + (std::int64_t{1} << (sh - 1)), std::int64_t{1} << sh);
}

// Three units, each taking `lanes` elements of one row per cycle and fully pipelined:
//   pass 1 reads the row from the input and writes it into a row slot, reducing it (max or sum);
//   a per-row unit of depth gap12 (0: none) turns the reduction into a row statistic;
//   pass 2 re-reads the slot, transforms every element (written back in place) and sums;
//   a per-row unit of depth gap23 turns that sum into a second statistic;
//   pass 3 re-reads the slot and writes the row's results.
// A beat issued at cycle t by a unit of depth D is complete at cycle t + D, and a unit may issue a beat
// that depends on a result in the cycle that result completes.
struct RowPipelineShape {
  std::uint32_t lanes = 1;
  std::uint32_t pass1_latency_cycles = 1;
  std::uint32_t gap12_latency_cycles = 0;
  std::uint32_t pass2_latency_cycles = 1;
  std::uint32_t gap23_latency_cycles = 1;
  std::uint32_t pass3_latency_cycles = 1;
  std::uint32_t row_buffers = 2;
  std::uint32_t row_buffer_elems = 1;
};

// When one row's passes start issuing, and the cycle its last result is written.
struct RowTiming {
  Cycle pass1_start = 0;
  Cycle pass2_start = 0;
  Cycle pass3_start = 0;
  Cycle done = 0;
  bool operator==(const RowTiming& o) const {
    return pass1_start == o.pass1_start && pass2_start == o.pass2_start && pass3_start == o.pass3_start &&
           done == o.done;
  }
};

// Fast path. Rows go through in push order; with B = ceil(length / lanes) beats, row r of slot r % S:
//   s1 = max(ready, s1' + B', slot_free[r % S])     slot_free = s3 + B of the row that last held the slot
//   s2 = max(s1 + B - 1 + pass1 + gap12, s2' + B')  (primes: the previous row)
//   s3 = max(s2 + B - 1 + pass2 + gap23, s3' + B')
//   done = s3 + B - 1 + pass3
// So rows overlap across units (row r+1's max pass runs while row r is in its exp pass), and at most S
// rows are between their first pass-1 beat and their last pass-3 beat.
class RowPipelineSchedule {
 public:
  explicit RowPipelineSchedule(const RowPipelineShape& shape);

  RowTiming push(Cycle ready, std::size_t length);
  // Cycle the last pushed row is done (0 before any row).
  Cycle done() const { return last_done_; }
  // Cycles pass 1 waited for a free row slot after its row was ready and the unit was free.
  std::uint64_t slot_wait_cycles() const { return slot_wait_cycles_; }

  // Closed form for `rows` rows of `length` elements all ready at cycle 0: the done cycle of the last row.
  // With B beats, C = 2(B-1) + pass1 + gap12 + pass2 + gap23 (pass-1 start to pass-3 start) and
  // r = rows - 1 = qS + j: s1(r) = q * max(S*B, C + B) + j*B, done = s1(r) + C + B - 1 + pass3.
  static Cycle uniform_done(const RowPipelineShape& shape, std::uint64_t rows, std::uint64_t length);

 private:
  RowPipelineShape shape_;
  Cycle unit_free_[3] = {0, 0, 0};
  std::vector<Cycle> slot_free_;
  std::uint64_t rows_ = 0;
  Cycle last_done_ = 0;
  std::uint64_t slot_wait_cycles_ = 0;
};

namespace detail {

// "" when lo <= value <= hi, else "<field>: must be at least lo, got value" (or "at most hi").
std::string range_error(const char* field, std::uint64_t value, std::uint64_t lo, std::uint64_t hi);

// A shift register of `depth` >= 1 stages: shift() moves every entry one stage on and returns the entry
// that leaves the last stage; insert() fills stage 0 (empty after shift()). An entry inserted at stage 0 at
// cycle t leaves at the shift() of cycle t + depth. Slots are reused so that steady state does not allocate.
template <class T>
class ShiftPipe {
 public:
  explicit ShiftPipe(std::uint32_t depth) : slots_(depth), valid_(depth, false) {}
  std::uint32_t depth() const { return static_cast<std::uint32_t>(slots_.size()); }
  // Returns the leaving entry or nullptr; the pointer stays valid until the next insert() at stage 0.
  T* shift() {
    const std::size_t d = slots_.size();
    const std::size_t last = (head_ + d - 1) % d;
    T* out = valid_[last] ? &slots_[last] : nullptr;
    valid_[last] = false;
    head_ = last;
    return out;
  }
  // Fills stage `stage` (0 = newest); the entry leaves depth - stage cycles later.
  T& insert(std::uint32_t stage = 0) {
    const std::size_t i = (head_ + stage) % slots_.size();
    valid_[i] = true;
    return slots_[i];
  }
  // Whether stage `stage` (0 = newest) holds an entry.
  bool occupied(std::uint32_t stage) const { return valid_[(head_ + stage) % slots_.size()]; }

 private:
  std::vector<T> slots_;
  std::vector<bool> valid_;
  std::size_t head_ = 0;
};

}  // namespace detail

// Clock-by-clock reference of the row pipeline: every beat of every row is carried through shift
// registers as real values, one cycle per step(). Kernel supplies the per-beat arithmetic:
//   using Context;                                         // per-row data (e.g. gamma, beta)
//   using Stat1; using Stat2;
//   int64_t pass1_identity() const;
//   int64_t pass1_beat(const int64_t* x, size_t n) const;  // reduction of one beat
//   int64_t pass1_combine(int64_t acc, int64_t part) const;
//   Stat1 gap12(int64_t acc, size_t length) const;
//   int64_t pass2_beat(const Stat1&, int64_t* v, size_t n) const;  // rewrites v, returns its sum
//   Stat2 gap23(int64_t sum, const Stat1&, size_t length) const;
//   void pass3_beat(const Context&, const Stat1&, const Stat2&, size_t col0, const int64_t* v, size_t n,
//                   int32_t* out) const;
template <class Kernel>
class RowPipelineStepModel {
 public:
  using Context = typename Kernel::Context;

  RowPipelineStepModel(const RowPipelineShape& shape, Kernel kernel);

  // Queue a row whose values are all present from cycle `ready`; returns its index.
  std::size_t enqueue(Cycle ready, std::vector<std::int32_t> values, Context context = Context{});
  // Simulate cycle now(), then advance now() by one.
  void step();
  Cycle now() const { return now_; }
  bool idle() const { return done_rows_ == rows_.size(); }
  std::size_t rows() const { return rows_.size(); }
  bool done(std::size_t row) const { return rows_[row].timing.done != kNever; }
  const RowTiming& timing(std::size_t row) const { return rows_[row].timing; }
  // Cycle pass 1 issued the row's last beat, i.e. finished reading its input (kNever until then).
  Cycle pass1_last_issue(std::size_t row) const { return rows_[row].pass1_last; }
  const std::vector<std::int32_t>& output(std::size_t row) const { return rows_[row].out; }
  std::uint64_t slot_wait_cycles() const { return slot_wait_cycles_; }
  std::uint64_t beats() const { return beats_; }

 private:
  struct Row {
    Cycle ready;
    std::vector<std::int32_t> in;
    std::vector<std::int32_t> out;
    Context context;
    std::size_t beats;
    std::size_t slot;
    std::int64_t acc1;
    std::int64_t acc2 = 0;
    std::optional<typename Kernel::Stat1> stat1;
    std::optional<typename Kernel::Stat2> stat2;
    std::size_t arrived1 = 0, arrived2 = 0, arrived3 = 0;
    RowTiming timing{kNever, kNever, kNever, kNever};
    Cycle pass1_last = kNever;
  };
  struct Beat {
    std::size_t row = 0;
    std::size_t col0 = 0;
    std::size_t n = 0;
    std::int64_t part = 0;
    std::vector<std::int64_t> v;
  };
  struct Unit {
    bool active = false;
    std::size_t row = 0;
    std::size_t beat = 0;
    std::size_t next_row = 0;
  };
  // Issues the next beat of the row `unit` (of pass 0, 1 or 2) is working on.
  void issue(int pass, Unit& unit);

  RowPipelineShape shape_;
  Kernel kernel_;
  std::vector<Row> rows_;
  std::vector<std::vector<std::int64_t>> slots_;
  std::vector<Cycle> slot_free_;
  detail::ShiftPipe<Beat> pipe1_, pipe2_, pipe3_;
  std::optional<detail::ShiftPipe<std::size_t>> gap12_;  // absent when its depth is 0
  detail::ShiftPipe<std::size_t> gap23_;
  Unit unit_[3];
  Cycle now_ = 0;
  std::size_t done_rows_ = 0;
  std::uint64_t slot_wait_cycles_ = 0;
  std::uint64_t beats_ = 0;
};

// Arithmetic (all integer, so results do not depend on reduction order):
//   input   score x: int32, real value x * 2^-score_frac_bits
//   pass 1  m = max x
//   pass 2  e = round(2^E * exp((x - m) * 2^-score_frac_bits)), E = exp_frac_bits, computed as
//           2^-(n + f) with t = (m - x) * log2(e) (log2(e) held with 24 fraction bits), n = floor(t),
//           f = t - n: 2^-f from a table of 2^exp_lut_bits + 1 entries round(2^E * 2^(-j / 2^exp_lut_bits))
//           with linear interpolation on 16 further fraction bits of f, then shifted right n places,
//           rounding to nearest; S = sum e (exact, 64 bits)
//   recip   q = round(2^(s - 1 + R) / S), s = bit length of S, R = recip_bits (q has R or R+1 bits)
//   pass 3  p = round(e * q / 2^(s - 1 + R - P)), P = prob_frac_bits: int32, real value p * 2^-P
// Against double softmax p* the error is at most, per element (derived in softmax_engine_test.cpp),
//   (2 p* rho + alpha (1 + p* L)) / (1 - rho - L alpha) + p* 2^-R + 2^-(P+1)
// with rho = 0.0601 * 4^-exp_lut_bits + 2^-(exp_lut_bits + 16) + 1e-6 (interpolation, truncation of f and
// log2(e) error, relative) and
// alpha = 1.5 * 2^-E (table, interpolation and shift rounding, absolute); alpha * L is the mass lost by
// rounding the exp of many small scores, so long rows want a larger exp_frac_bits.
struct SoftmaxParams {
  // Datapath (illustrative defaults, not figures from STA).
  std::uint32_t lanes = 16;                // elements per cycle in each pass
  std::uint32_t max_latency_cycles = 2;    // pass 1: compare tree, running-max register
  std::uint32_t exp_latency_cycles = 4;    // pass 2: subtract, exp, adder tree, accumulator
  std::uint32_t recip_latency_cycles = 6;  // 1/sum, once per row
  std::uint32_t norm_latency_cycles = 2;   // pass 3: multiply by the reciprocal, round
  std::uint32_t row_buffers = 2;           // row slots of the on-chip score buffer (2: ping-pong)
  std::uint32_t row_buffer_elems = 4096;   // elements per slot: the longest row
  // Arithmetic.
  std::uint32_t score_frac_bits = 8;
  std::uint32_t exp_frac_bits = 20;
  std::uint32_t exp_lut_bits = 8;
  std::uint32_t recip_bits = 20;
  std::uint32_t prob_frac_bits = 15;

  std::string validate() const;
};

class SoftmaxArithmetic {
 public:
  struct Reciprocal {
    std::uint64_t mantissa = 0;
    std::uint32_t shift = 0;  // p = round(e * mantissa / 2^shift)
  };

  explicit SoftmaxArithmetic(const SoftmaxParams& params);

  // round(2^E * exp(diff * 2^-score_frac_bits)) as the exp unit computes it; diff <= 0.
  std::uint32_t exp_neg(std::int64_t diff) const;
  // For a row sum >= 2^exp_frac_bits (the row maximum alone contributes 2^exp_frac_bits).
  Reciprocal reciprocal(std::uint64_t sum) const;
  std::int32_t normalise(std::uint64_t e, const Reciprocal& r) const;
  // The whole row, pass by pass: probs[0..n) from scores[0..n), n >= 1.
  void row(const std::int32_t* scores, std::size_t n, std::int32_t* probs) const;

 private:
  std::uint32_t score_frac_bits_;
  std::uint32_t exp_frac_bits_;
  std::uint32_t exp_lut_bits_;
  std::uint32_t recip_bits_;
  std::uint32_t prob_frac_bits_;
  std::vector<std::uint32_t> lut_;
};

// A tile of attention scores, rows x cols row-major. Row i uses a prefix of its columns: row_lengths[i]
// when given (variable-length sequences), and with `causal` at most query_offset + i + 1 (query i sits
// at position query_offset + i and sees keys 0..query_offset + i). Columns beyond the prefix are not
// streamed through the unit; their probabilities are 0.
struct SoftmaxTile {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<std::int32_t> scores;
  std::vector<std::uint32_t> row_lengths;  // empty: every row has `cols` elements
  bool causal = false;
  std::size_t query_offset = 0;
};

// Effective row lengths of a tile; throws InputError for a malformed tile or a row longer than a slot.
std::vector<std::size_t> softmax_row_lengths(const SoftmaxTile& tile, const SoftmaxParams& params);

struct SoftmaxTileResult {
  std::vector<std::int32_t> probs;  // rows x cols, 0 outside each row's prefix
  std::vector<RowTiming> rows;
  Cycle done = 0;
};

RowPipelineShape softmax_shape(const SoftmaxParams& params);

class SoftmaxEngine {
 public:
  struct Counters {
    std::uint64_t rows = 0;
    std::uint64_t elements = 0;          // elements streamed (each makes all three passes)
    std::uint64_t beats = 0;             // beats per pass, summed over rows
    std::uint64_t masked_elements = 0;   // tile elements skipped by the causal mask or row lengths
    std::uint64_t slot_wait_cycles = 0;  // pass 1 held back by a full row buffer
    bool operator==(const Counters& o) const {
      return rows == o.rows && elements == o.elements && beats == o.beats &&
             masked_elements == o.masked_elements && slot_wait_cycles == o.slot_wait_cycles;
    }
  };

  // Throws InputError when params.validate() fails.
  explicit SoftmaxEngine(const SoftmaxParams& params);

  // The row's `length` scores are all present from cycle `ready`; rows go through in push order.
  // Writes `length` probabilities to `probs` and returns the row's schedule.
  RowTiming push_row(Cycle ready, const std::int32_t* scores, std::size_t length, std::int32_t* probs);
  // Timing and counters only, for callers that compute the values themselves (or need none).
  RowTiming schedule_row(Cycle ready, std::size_t length);
  // Every row of the tile, ready at `ready`.
  SoftmaxTileResult run_tile(Cycle ready, const SoftmaxTile& tile);
  // Cycle the last accepted row is done: the unit is idle from then on (0 before any row).
  Cycle done_cycle() const { return schedule_.done(); }

  // Closed form: `rows` rows of `length` elements, all ready at cycle 0, on an idle unit.
  static Cycle cycles(const SoftmaxParams& params, std::uint64_t rows, std::uint64_t length);

  const SoftmaxParams& params() const { return params_; }
  const SoftmaxArithmetic& arithmetic() const { return arith_; }
  const Counters& counters() const { return counters_; }

 private:
  SoftmaxParams params_;
  SoftmaxArithmetic arith_;
  RowPipelineSchedule schedule_;
  Counters counters_;
};

// Per-beat softmax arithmetic for the step model.
class SoftmaxKernel {
 public:
  struct Context {};
  using Stat1 = std::int64_t;                   // row max
  using Stat2 = SoftmaxArithmetic::Reciprocal;  // 1 / sum

  explicit SoftmaxKernel(const SoftmaxArithmetic& arith) : arith_(&arith) {}
  std::int64_t pass1_identity() const;
  std::int64_t pass1_beat(const std::int64_t* x, std::size_t n) const;
  std::int64_t pass1_combine(std::int64_t acc, std::int64_t part) const { return acc > part ? acc : part; }
  Stat1 gap12(std::int64_t acc, std::size_t) const { return acc; }
  std::int64_t pass2_beat(const Stat1& max, std::int64_t* v, std::size_t n) const;
  Stat2 gap23(std::int64_t sum, const Stat1&, std::size_t) const;
  void pass3_beat(const Context&, const Stat1&, const Stat2& recip, std::size_t col0, const std::int64_t* v,
                  std::size_t n, std::int32_t* out) const;

 private:
  const SoftmaxArithmetic* arith_;  // not owned; outlives the kernel
};

// Clock-by-clock reference of SoftmaxEngine.
class SoftmaxStepModel {
 public:
  explicit SoftmaxStepModel(const SoftmaxParams& params);
  SoftmaxStepModel(const SoftmaxStepModel&) = delete;
  SoftmaxStepModel& operator=(const SoftmaxStepModel&) = delete;

  // Queue one row whose scores are all present from cycle `ready`; returns its index.
  std::size_t enqueue(Cycle ready, std::vector<std::int32_t> scores);
  void step() { model_.step(); }
  Cycle now() const { return model_.now(); }
  bool idle() const { return model_.idle(); }
  const RowPipelineStepModel<SoftmaxKernel>& rows() const { return model_; }

  // Queues every row of the tile at `ready` and steps until the unit is idle.
  SoftmaxTileResult run_tile(Cycle ready, const SoftmaxTile& tile);
  // Counters as SoftmaxEngine keeps them, counted beat by beat.
  SoftmaxEngine::Counters counters() const;

 private:
  SoftmaxParams params_;
  SoftmaxArithmetic arith_;
  RowPipelineStepModel<SoftmaxKernel> model_;
  std::uint64_t elements_ = 0;
  std::uint64_t masked_elements_ = 0;
};

template <class Kernel>
RowPipelineStepModel<Kernel>::RowPipelineStepModel(const RowPipelineShape& shape, Kernel kernel)
    : shape_(shape),
      kernel_(std::move(kernel)),
      slots_(shape.row_buffers, std::vector<std::int64_t>(shape.row_buffer_elems)),
      slot_free_(shape.row_buffers, 0),
      pipe1_(shape.pass1_latency_cycles),
      pipe2_(shape.pass2_latency_cycles),
      pipe3_(shape.pass3_latency_cycles),
      gap23_(shape.gap23_latency_cycles) {
  if (shape.gap12_latency_cycles > 0) gap12_.emplace(shape.gap12_latency_cycles);
}

template <class Kernel>
std::size_t RowPipelineStepModel<Kernel>::enqueue(Cycle ready, std::vector<std::int32_t> values,
                                                  Context context) {
  if (values.empty() || values.size() > shape_.row_buffer_elems) {
    throw InputError("row pipeline: row " + std::to_string(rows_.size()) + " has " +
                     std::to_string(values.size()) + " elements, expected 1 to row_buffer_elems " +
                     std::to_string(shape_.row_buffer_elems));
  }
  Row row{};
  row.ready = ready;
  row.out.assign(values.size(), 0);
  row.beats = ceil_div(values.size(), shape_.lanes);
  row.slot = rows_.size() % shape_.row_buffers;
  row.in = std::move(values);
  row.context = std::move(context);
  row.acc1 = kernel_.pass1_identity();
  rows_.push_back(std::move(row));
  return rows_.size() - 1;
}

template <class Kernel>
void RowPipelineStepModel<Kernel>::issue(int pass, Unit& unit) {
  Row& row = rows_[unit.row];
  const std::size_t col0 = unit.beat * shape_.lanes;
  const std::size_t n = std::min<std::size_t>(shape_.lanes, row.in.size() - col0);
  detail::ShiftPipe<Beat>& pipe = pass == 0 ? pipe1_ : pass == 1 ? pipe2_ : pipe3_;
  Beat& b = pipe.insert();
  b.row = unit.row;
  b.col0 = col0;
  b.n = n;
  b.v.resize(n);
  std::vector<std::int64_t>& slot = slots_[row.slot];
  if (pass == 0) {
    for (std::size_t i = 0; i < n; ++i) b.v[i] = row.in[col0 + i];
    b.part = kernel_.pass1_beat(b.v.data(), n);
    ++beats_;
  } else if (pass == 1) {
    for (std::size_t i = 0; i < n; ++i) b.v[i] = slot[col0 + i];
    b.part = kernel_.pass2_beat(*row.stat1, b.v.data(), n);
  } else {
    for (std::size_t i = 0; i < n; ++i) b.v[i] = slot[col0 + i];
  }
  ++unit.beat;
  if (unit.beat == row.beats) {
    unit.active = false;
    if (pass == 0) row.pass1_last = now_;
    // The last pass-3 read frees the slot for the next row's pass-1 writes from the next cycle.
    if (pass == 2) slot_free_[row.slot] = now_ + 1;
  }
}

template <class Kernel>
void RowPipelineStepModel<Kernel>::step() {
  const Cycle t = now_;
  // 1. Everything that completes this cycle. All registers shift first; a per-row unit's leaving entry is
  // used before a new one is inserted into the slot it vacated.
  Beat* out1 = pipe1_.shift();
  Beat* out2 = pipe2_.shift();
  Beat* out3 = pipe3_.shift();
  if (gap12_) {
    if (std::size_t* r = gap12_->shift())
      rows_[*r].stat1 = kernel_.gap12(rows_[*r].acc1, rows_[*r].in.size());
  }
  if (std::size_t* r = gap23_.shift()) {
    Row& row = rows_[*r];
    row.stat2 = kernel_.gap23(row.acc2, *row.stat1, row.in.size());
  }
  if (out1) {
    Row& row = rows_[out1->row];
    std::vector<std::int64_t>& slot = slots_[row.slot];
    for (std::size_t i = 0; i < out1->n; ++i) slot[out1->col0 + i] = out1->v[i];
    row.acc1 = kernel_.pass1_combine(row.acc1, out1->part);
    if (++row.arrived1 == row.beats) {
      if (gap12_) {
        gap12_->insert() = out1->row;
      } else {
        row.stat1 = kernel_.gap12(row.acc1, row.in.size());
      }
    }
  }
  if (out2) {
    Row& row = rows_[out2->row];
    std::vector<std::int64_t>& slot = slots_[row.slot];
    for (std::size_t i = 0; i < out2->n; ++i) slot[out2->col0 + i] = out2->v[i];
    row.acc2 += out2->part;
    if (++row.arrived2 == row.beats) gap23_.insert() = out2->row;
  }
  if (out3) {
    Row& row = rows_[out3->row];
    kernel_.pass3_beat(row.context, *row.stat1, *row.stat2, out3->col0, out3->v.data(), out3->n,
                       row.out.data());
    if (++row.arrived3 == row.beats) {
      row.timing.done = t;
      ++done_rows_;
    }
  }
  // 2. Issue. Pass 1 starts the next row once it is ready and its slot is free.
  Unit& u1 = unit_[0];
  if (!u1.active && u1.next_row < rows_.size() && rows_[u1.next_row].ready <= t) {
    Row& row = rows_[u1.next_row];
    if (slot_free_[row.slot] <= t) {
      u1 = Unit{true, u1.next_row, 0, u1.next_row + 1};
      row.timing.pass1_start = t;
      slot_free_[row.slot] = kNever;  // held until the row's last pass-3 read
    } else {
      ++slot_wait_cycles_;
    }
  }
  if (u1.active) issue(0, u1);
  Unit& u2 = unit_[1];
  if (!u2.active && u2.next_row < rows_.size() && rows_[u2.next_row].stat1) {
    rows_[u2.next_row].timing.pass2_start = t;
    u2 = Unit{true, u2.next_row, 0, u2.next_row + 1};
  }
  if (u2.active) issue(1, u2);
  Unit& u3 = unit_[2];
  if (!u3.active && u3.next_row < rows_.size() && rows_[u3.next_row].stat2) {
    rows_[u3.next_row].timing.pass3_start = t;
    u3 = Unit{true, u3.next_row, 0, u3.next_row + 1};
  }
  if (u3.active) issue(2, u3);
  ++now_;
}

}  // namespace tacsim::sfu
