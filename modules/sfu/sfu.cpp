#include "modules/sfu/sfu.h"

#include <algorithm>
#include <cstring>
#include <memory>

namespace tacsim::sfu {

using namespace sc_core;

std::string SfuParams::validate() const {
  if (score_buffer_kib == 0) return "score_buffer_kib: must be at least 1, got 0";
  if (const std::string e = softmax.validate(); !e.empty()) return "softmax." + e;
  if (const std::string e = vector.validate(); !e.empty()) return "vector." + e;
  return "";
}

const char* to_string(SfuKind kind) {
  switch (kind) {
    case SfuKind::kSoftmax: return "softmax";
    case SfuKind::kLayerNorm: return "layernorm";
    case SfuKind::kGelu: return "gelu";
    case SfuKind::kResidualAdd: return "residual_add";
  }
  return "?";
}

std::uint32_t input_bytes(SfuKind kind, std::size_t input) {
  switch (kind) {
    case SfuKind::kSoftmax:
    case SfuKind::kGelu: return 4;
    case SfuKind::kResidualAdd: return input == 0 ? 4 : 1;
    case SfuKind::kLayerNorm: return 1;
  }
  return 1;
}

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
    case SfuKind::kLayerNorm: return VectorEngine::layernorm_cycles(params_.vector, op.rows, op.row_len) + 1;
    case SfuKind::kGelu: return VectorEngine::elementwise_cycles(params_.vector, ElementwiseOp::kGelu, n) + 1;
    case SfuKind::kResidualAdd:
      return VectorEngine::elementwise_cycles(params_.vector, ElementwiseOp::kResidualAdd, n) + 1;
  }
  return 0;
}

void Sfu::move_all(const std::vector<control::BlockMove>& all, bool write) {
  // On-chip blocks are in (or stay in) the SFU's row buffers: only the others move.
  std::vector<control::BlockMove> moves;
  std::uint64_t total = 0;
  for (const auto& m : all) total = std::max(total, m.local_offset + m.bytes());
  if (scratch_.size() < total) scratch_.resize(total);
  for (const auto& m : all)
    if (!m.on_chip)
      moves.push_back(m);
    else if (on_chip_store_ != nullptr && compute_values_)
      control::copy_on_chip(*on_chip_store_, m, scratch_.data() + m.local_offset, write);
  if (moves.empty()) return;
  auto left = std::make_shared<std::size_t>(moves.size());
  for (const auto& b : moves) {
    dma::Move m;
    m.write = write;
    m.address = b.address;
    m.rows = b.rows;
    m.row_bytes = b.row_bytes;
    m.stride_bytes = b.stride;
    m.local = scratch_.data() + b.local_offset;
    m.on_done = [this, left](Cycle) {
      if (--*left == 0) moved_.notify(SC_ZERO_TIME);
    };
    dma_.submit(std::move(m));
  }
  while (*left != 0) wait(moved_);
}

void Sfu::run(const SfuOp& op) {
  const Cycle t0 = clock_.now();
  move_all(op.inputs, false);
  const Cycle t1 = clock_.now();
  const Cycle compute = compute_cycles(op);
  clock_.wait_until(t1 + compute);
  const Cycle t2 = clock_.now();
  if (compute_values_) compute_values(op);
  move_all({op.output}, true);
  ++ops_;
  elements_ += std::uint64_t{op.rows} * op.row_len;
  compute_cycles_ += compute;
  dma_cycles_ += (t1 - t0) + (clock_.now() - t2);
}

void Sfu::start(SfuOp op) {
  if (busy_) SC_REPORT_FATAL(name(), "an operation is already running");
  pending_ = std::move(op);
  busy_ = true;
  start_.notify(SC_ZERO_TIME);
}

void Sfu::start_thread() {
  for (;;) {
    wait(start_);
    run(pending_);
    busy_ = false;
    finished_.notify(SC_ZERO_TIME);
  }
}

void Sfu::compute_values(const SfuOp& op) {
  const std::size_t rows = op.rows, len = op.row_len, n = rows * len;
  auto in32 = [&](std::size_t i) {
    std::int32_t v;
    std::memcpy(&v, scratch_.data() + op.inputs[0].local_offset + i * 4, 4);
    return v;
  };
  auto in8 = [&](std::size_t input, std::size_t i) {
    return static_cast<std::int8_t>(scratch_[op.inputs[input].local_offset + i]);
  };
  std::vector<std::int8_t> out(n);
  auto to8 = [](std::int32_t v) { return static_cast<std::int8_t>(std::clamp(v, -128, 127)); };
  switch (op.kind) {
    case SfuKind::kSoftmax: {
      const SoftmaxArithmetic arith(params_.softmax);
      std::vector<std::int32_t> x(len), p(len);
      for (std::size_t r = 0; r < rows; ++r) {
        const std::size_t valid = op.causal ? std::min<std::size_t>(op.query_offset + r + 1, len) : len;
        for (std::size_t c = 0; c < valid; ++c) x[c] = op.in_rq.apply(in32(r * len + c));
        arith.row(x.data(), valid, p.data());
        for (std::size_t c = 0; c < len; ++c) out[r * len + c] = to8(op.out_rq.apply(c < valid ? p[c] : 0));
      }
      break;
    }
    case SfuKind::kGelu: {
      const GeluArithmetic gelu(params_.vector);
      for (std::size_t i = 0; i < n; ++i) out[i] = to8(op.out_rq.apply(gelu.apply(op.in_rq.apply(in32(i)))));
      break;
    }
    case SfuKind::kResidualAdd: {
      bool saturated = false;
      for (std::size_t i = 0; i < n; ++i) out[i] = residual_add(to8(op.in_rq.apply(in32(i))), in8(1, i), saturated);
      break;
    }
    case SfuKind::kLayerNorm: {
      if (op.gamma.size() != len || op.beta.size() != len)
        SC_REPORT_FATAL(name(), "layernorm values need row_len gamma and beta entries");
      const LayernormArithmetic ln(params_.vector);
      std::vector<std::int32_t> x(len), y(len);
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < len; ++c) x[c] = in8(0, r * len + c);
        ln.row(x.data(), len, op.gamma.data(), op.beta.data(), y.data());
        for (std::size_t c = 0; c < len; ++c) out[r * len + c] = to8(op.out_rq.apply(y[c]));
      }
      break;
    }
  }
  std::memcpy(scratch_.data() + op.output.local_offset, out.data(), n);
}

}  // namespace tacsim::sfu
