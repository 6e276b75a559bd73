#include "modules/sfu/sfu.h"

#include <algorithm>
#include <cstring>
#include <memory>

namespace tacsim::sfu {

using namespace sc_core;

Sfu::Sfu(const sc_module_name& name, const SfuParams& params, const ClockDomain& clock, dma::Dma& dma)
    : sc_module(name), params_(params), clock_(clock), dma_(dma) {
  SC_THREAD(start_thread);
  stats_.add("ops", &ops_, "operations", "operations run");
  stats_.add("elements", &elements_, "elements", "elements processed");
  stats_.add("compute_cycles", &compute_cycles_, "cycles", "cycles the units computed");
  stats_.add("dma_cycles", &dma_cycles_, "cycles", "cycles spent moving inputs in and outputs out");
}

Cycle Sfu::compute_cycles(const SfuOp& op) const {
  // The engines' closed forms give the cycle of the last result write with everything ready at cycle 0;
  // the output is complete one cycle later.
  const std::uint64_t n = std::uint64_t{op.rows} * op.row_len;
  switch (op.kind) {
    case SfuKind::kSoftmax: {
      if (!op.causal) return SoftmaxEngine::cycles(params_.softmax, op.rows, op.row_len) + 1;
      SoftmaxEngine e(params_.softmax);  // causal rows differ in length: schedule them one by one
      for (std::uint32_t r = 0; r < op.rows; ++r)
        e.schedule_row(0, std::min<std::uint32_t>(op.query_offset + r + 1, op.row_len));
      return e.done_cycle() + 1;
    }
    case SfuKind::kLayerNorm:
      return VectorEngine::layernorm_cycles(params_.vector, op.rows, op.row_len) + 1;
    case SfuKind::kGelu:
      return VectorEngine::elementwise_cycles(params_.vector, ElementwiseOp::kGelu, n) + 1;
    case SfuKind::kResidualAdd:
      return VectorEngine::elementwise_cycles(params_.vector, ElementwiseOp::kResidualAdd, n) + 1;
  }
  return 0;
}

void Sfu::run(const SfuOp& op) {
  // The operation streams through the units in groups of rows: the DMA brings every group's inputs in order,
  // a group computes once its inputs are in (the engines schedule each row from its ready cycle, in order,
  // behind the rows before it), and its results go out by DMA the cycle after its last one is written, while
  // later groups are still arriving or computing. A group is about stream_kib of input.
  const Cycle t0 = clock_.now();
  if (op_wave_) op_wave_.set(clock_.fs_at(t0), 1 + static_cast<std::uint64_t>(op.kind));
  std::uint64_t in_row_bytes = 0;
  for (const auto& b : op.inputs) in_row_bytes += b.row_bytes;
  const std::uint32_t group = static_cast<std::uint32_t>(std::max<std::uint64_t>(
      1, std::uint64_t{params_.stream_kib} * 1024 / std::max<std::uint64_t>(1, in_row_bytes)));
  const std::uint32_t groups = (op.rows + group - 1) / group;
  auto rows_of = [&](std::uint32_t g) { return std::min(group, op.rows - g * group); };
  auto slice = [&](const dma::BlockMove& b, std::uint32_t g) {
    dma::BlockMove s = b;
    s.address += std::uint64_t{g} * group * b.stride;
    s.rows = rows_of(g);
    s.local_offset += std::uint64_t{g} * group * b.row_bytes;
    return s;
  };
  std::uint64_t total = 0;
  for (const auto& b : op.inputs) total = std::max(total, b.local_offset + b.bytes());
  if (scratch_.size() < total) scratch_.resize(total);
  if (out_scratch_.size() < op.output.local_offset + op.output.bytes())
    out_scratch_.resize(op.output.local_offset + op.output.bytes());

  // Inputs: group by group, each group's blocks together. On-chip blocks are there at once.
  auto arrived = std::make_shared<std::vector<Cycle>>(groups, kNever);
  for (std::uint32_t g = 0; g < groups; ++g) {
    auto left = std::make_shared<std::size_t>(0);
    for (const auto& b : op.inputs) {
      const dma::BlockMove s = slice(b, g);
      if (s.on_chip) {
        if (on_chip_store_ != nullptr && compute_values_)
          dma::copy_on_chip(*on_chip_store_, s, scratch_.data() + s.local_offset, false);
        continue;
      }
      ++*left;
      dma::Move m = dma::dma_move(s, scratch_.data() + s.local_offset, false);
      m.on_done = [this, left, arrived, g](Cycle c) {
        if (--*left == 0) {
          (*arrived)[g] = c;
          moved_.notify(SC_ZERO_TIME);
        }
      };
      dma_.submit(std::move(m));
    }
    if (*left == 0) (*arrived)[g] = t0;
  }

  // Groups compute in order on fresh engines (the unit is idle between operations); outputs leave as done.
  SoftmaxEngine softmax(params_.softmax);
  VectorEngine vector(params_.vector);
  auto writes_left = std::make_shared<std::size_t>(0);
  Cycle first_ready = kNever, last_done = 0;
  for (std::uint32_t g = 0; g < groups; ++g) {
    while ((*arrived)[g] == kNever) wait(moved_);
    const Cycle ready = (*arrived)[g];
    first_ready = std::min(first_ready, ready);
    const std::uint32_t r0 = g * group, rows = rows_of(g);
    const std::size_t n = std::size_t{rows} * op.row_len;
    Cycle done = 0;
    switch (op.kind) {
      case SfuKind::kSoftmax:
        for (std::uint32_t r = r0; r < r0 + rows; ++r)
          softmax.schedule_row(
              ready, op.causal ? std::min<std::uint32_t>(op.query_offset + r + 1, op.row_len) : op.row_len);
        done = softmax.done_cycle();
        break;
      case SfuKind::kLayerNorm: {
        // Timing does not depend on values: zeros stand in for them.
        const std::vector<std::int16_t> affine(op.row_len, 0);
        done =
            vector.layernorm(ready, rows, op.row_len, std::vector<std::int32_t>(n, 0), affine, affine).done;
        break;
      }
      case SfuKind::kGelu:
        done = vector.gelu(ready, std::vector<std::int32_t>(n, 0)).done;
        break;
      case SfuKind::kResidualAdd:
        done =
            vector.residual_add(ready, std::vector<std::int8_t>(n, 0), std::vector<std::int8_t>(n, 0)).done;
        break;
    }
    last_done = std::max(last_done, done);
    if (compute_values_) compute_values(op, r0, r0 + rows);
    // Complete the cycle after the group's last result is written.
    clock_.wait_until(done + 1);
    const dma::BlockMove out = slice(op.output, g);
    if (out.on_chip) {
      if (on_chip_store_ != nullptr && compute_values_)
        dma::copy_on_chip(*on_chip_store_, out, out_scratch_.data() + out.local_offset, true);
      continue;
    }
    ++*writes_left;
    dma::Move m = dma::dma_move(out, out_scratch_.data() + out.local_offset, true);
    m.on_done = [this, writes_left](Cycle) {
      if (--*writes_left == 0) moved_.notify(SC_ZERO_TIME);
    };
    dma_.submit(std::move(m));
  }
  while (*writes_left != 0) wait(moved_);
  ++ops_;
  elements_ += std::uint64_t{op.rows} * op.row_len;
  const Cycle compute = last_done + 1 - first_ready;
  compute_cycles_ += compute;
  dma_cycles_ += (clock_.now() - t0) - compute;
  if (op_wave_) op_wave_.set(clock_.fs_at(clock_.now()), 0);
}

void Sfu::attach_waves(waves::Recorder& r) {
  std::vector<std::string> labels{"-"};
  for (auto k : {SfuKind::kSoftmax, SfuKind::kLayerNorm, SfuKind::kGelu, SfuKind::kResidualAdd})
    labels.push_back(to_string(k));  // label 1 + SfuKind
  op_wave_ = r.enumerated(std::string(name()) + ".op", labels,
                          "the operation from its start until its output is in memory (- : none)");
}

void Sfu::start(SfuOp op) {
  std::vector<SfuOp> ops;
  ops.push_back(std::move(op));
  start(std::move(ops));
}

void Sfu::start(std::vector<SfuOp> ops) {
  if (busy_) SC_REPORT_FATAL(name(), "an operation is already running");
  pending_ = std::move(ops);
  done_cycles_.clear();
  busy_ = true;
  start_.notify(SC_ZERO_TIME);
}

void Sfu::start_thread() {
  for (;;) {
    wait(start_);
    for (const SfuOp& op : pending_) {
      run(op);
      done_cycles_.push_back(clock_.now());
    }
    busy_ = false;
    finished_.notify(SC_ZERO_TIME);
  }
}

void Sfu::compute_values(const SfuOp& op, std::uint32_t r_begin, std::uint32_t r_end) {
  // Rows [r_begin, r_end): inputs from the row buffers as the DMA brought them, int8 results into the output
  // buffer at the same rows.
  const std::size_t len = op.row_len;
  auto in32 = [&](std::size_t i) {
    std::int32_t v;
    std::memcpy(&v, scratch_.data() + op.inputs[0].local_offset + i * 4, 4);
    return v;
  };
  auto in8 = [&](std::size_t input, std::size_t i) {
    return static_cast<std::int8_t>(scratch_[op.inputs[input].local_offset + i]);
  };
  auto put = [&](std::size_t i, std::int32_t v) {
    out_scratch_[op.output.local_offset + i] =
        static_cast<std::uint8_t>(static_cast<std::int8_t>(std::clamp(v, -128, 127)));
  };
  const std::size_t e0 = r_begin * len, e1 = r_end * len;
  switch (op.kind) {
    case SfuKind::kSoftmax: {
      const SoftmaxArithmetic arith(params_.softmax);
      std::vector<std::int32_t> x(len), p(len);
      for (std::size_t r = r_begin; r < r_end; ++r) {
        const std::size_t valid = op.causal ? std::min<std::size_t>(op.query_offset + r + 1, len) : len;
        for (std::size_t c = 0; c < valid; ++c) x[c] = op.in_rq.apply(in32(r * len + c));
        arith.row(x.data(), valid, p.data());
        for (std::size_t c = 0; c < len; ++c) put(r * len + c, op.out_rq.apply(c < valid ? p[c] : 0));
      }
      break;
    }
    case SfuKind::kGelu: {
      const GeluArithmetic gelu(params_.vector);
      for (std::size_t i = e0; i < e1; ++i) put(i, op.out_rq.apply(gelu.apply(op.in_rq.apply(in32(i)))));
      break;
    }
    case SfuKind::kResidualAdd: {
      bool saturated = false;
      for (std::size_t i = e0; i < e1; ++i) {
        const auto a = static_cast<std::int8_t>(std::clamp(op.in_rq.apply(in32(i)), -128, 127));
        put(i, residual_add(a, in8(1, i), saturated));
      }
      break;
    }
    case SfuKind::kLayerNorm: {
      if (op.gamma.size() != len || op.beta.size() != len)
        SC_REPORT_FATAL(name(), "layernorm values need row_len gamma and beta entries");
      const LayernormArithmetic ln(params_.vector);
      std::vector<std::int32_t> x(len), y(len);
      for (std::size_t r = r_begin; r < r_end; ++r) {
        for (std::size_t c = 0; c < len; ++c) x[c] = in8(0, r * len + c);
        ln.row(x.data(), len, op.gamma.data(), op.beta.data(), y.data());
        for (std::size_t c = 0; c < len; ++c) put(r * len + c, op.out_rq.apply(y[c]));
      }
      break;
    }
  }
}

}  // namespace tacsim::sfu
