#include "modules/sfu/sfu.h"

#include <algorithm>
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

Sfu::Sfu(const sc_module_name& name, const SfuParams& params, const ClockDomain& clock, dma::Dma& dma)
    : sc_module(name), params_(params), clock_(clock), dma_(dma) {
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
      for (std::uint32_t r = 0; r < op.rows; ++r) e.schedule_row(0, std::min<std::uint32_t>(r + 1, op.row_len));
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
  for (const auto& m : all)
    if (!m.on_chip) moves.push_back(m);
  if (moves.empty()) return;
  std::uint64_t total = 0;
  for (const auto& m : moves) total = std::max(total, m.local_offset + m.bytes());
  if (scratch_.size() < total) scratch_.resize(total);
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
  move_all({op.output}, true);
  ++ops_;
  elements_ += std::uint64_t{op.rows} * op.row_len;
  compute_cycles_ += compute;
  dma_cycles_ += (t1 - t0) + (clock_.now() - t2);
}

}  // namespace tacsim::sfu
