#include "modules/pe_array/pe_array_engine.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace tacsim::pe_array {

std::string Params::validate() const {
  if (rows == 0) return "rows: must be at least 1, got 0";
  if (cols == 0) return "cols: must be at least 1, got 0";
  if (macs_per_pe == 0 || macs_per_pe > 64)
    return fmt::format("macs_per_pe: must be 1 to 64, got {}", macs_per_pe);
  if (multiply_latency_cycles == 0) return "multiply_latency_cycles: must be at least 1, got 0";
  if (accumulate_latency_cycles == 0) return "accumulate_latency_cycles: must be at least 1, got 0";
  return "";
}

PeArrayEngine::PeArrayEngine(const Params& p)
    : p_(p), sets_(p.accumulator_sets()), acc_(p.accumulator_sets()) {}

bool PeArrayEngine::can_begin(const TileShape& shape) const {
  if (tile_open_) return false;
  if (sets_[tiles_begun_ % sets_.size()].busy) return false;
  // A mode change drains the previous tile first (the rule needs its done cycle).
  return tiles_begun_ == 0 || shape.sparse == prev_sparse_ || undrained_.empty();
}

void PeArrayEngine::begin_tile(const TileShape& shape) {
  if (!can_begin(shape))
    throw std::logic_error("PeArrayEngine: begin_tile before its accumulator set is free");
  if (shape.rows == 0 || shape.rows > p_.rows || shape.cols == 0 || shape.cols > p_.cols || shape.steps == 0)
    throw std::logic_error(
        fmt::format("PeArrayEngine: bad tile {}x{} with {} steps", shape.rows, shape.cols, shape.steps));
  tile_ = shape;
  steps_left_ = shape.steps;
  tile_open_ = true;
  first_chunk_ = true;
  switching_ = tiles_begun_ > 0 && shape.sparse != prev_sparse_;
  prev_sparse_ = shape.sparse;
  cur_set_ = static_cast<std::uint32_t>(tiles_begun_ % sets_.size());
  ++tiles_begun_;
  sets_[cur_set_].busy = true;
  acc_[cur_set_].assign(std::size_t{shape.rows} * shape.cols, 0);
}

void PeArrayEngine::charge(std::uint64_t& counter, Cycle from, Cycle to) {
  from = std::max(from, stall_floor_);
  if (to > from) counter += to - from;
}

Cycle PeArrayEngine::issue_chunk(Cycle ready, std::uint64_t slots, const Chunk* chunk, Cycle out_ready) {
  const std::uint64_t steps = steps_for(slots);
  if (!tile_open_ || steps == 0 || steps > steps_left_ || (chunk && chunk->slots != slots))
    throw std::logic_error("PeArrayEngine: issue_chunk outside a tile or beyond its steps");
  // The earliest cycle the array itself allows, before looking at operands. Stalls count from `allowed`, or
  // from when the array got work if it idled (idle_until).
  Cycle allowed = any_issue_ ? last_issue_ + 1 : 0;
  const bool two_sets = p_.overlap_drain;
  if (first_chunk_ && any_drain_) {
    if (!two_sets) {
      // Column-port rule, one set: e >= d_prev + Rt_prev, enforced at the first step.
      const Cycle port_bound = prev_drain_ + prev_drain_rows_;
      if (port_bound > allowed + (tile_.steps - 1)) {
        const Cycle bound = port_bound - (tile_.steps - 1);
        charge(c_.drain_stall_cycles, allowed, bound);
        allowed = bound;
      }
    } else if (const SetState& set = sets_[cur_set_]; set.free_from > allowed) {
      // Two sets: the tile's set is free the cycle after tile T-2's drain read it. That drain waited for an
      // output half (an out stall) or for the column ports (a drain stall).
      charge(set.cause == DrainCause::kOutHalf ? c_.out_stall_cycles : c_.drain_stall_cycles, allowed,
             set.free_from);
      allowed = set.free_from;
    }
    // A switch between sparse and dense mode changes the pipeline depth: the previous tile drains first.
    if (switching_ && prev_done_ > allowed) {
      charge(c_.drain_stall_cycles, allowed, prev_done_);
      allowed = prev_done_;
    }
  }
  if (!first_chunk_ || two_sets) out_ready = 0;
  const Cycle start = std::max({ready, out_ready, allowed});
  // A stall is charged to the output half while it is what holds the tile back, to the operands after that;
  // none before the array had work (idle_until).
  const Cycle out_bound = std::max(allowed, std::min(out_ready, start));
  charge(c_.out_stall_cycles, allowed, out_bound);
  charge(c_.operand_stall_cycles, out_bound, start);
  if (first_chunk_) tile_first_ = start;
  first_chunk_ = false;
  last_issue_ = start + steps - 1;
  any_issue_ = true;
  steps_left_ -= steps;
  c_.steps += steps;
  c_.macs += slots * tile_.rows * tile_.cols;
  if (tile_.sparse) c_.selected_macs += slots * tile_.rows * tile_.cols;
  if (chunk) accumulate(*chunk);
  return last_issue_;
}

Cycle PeArrayEngine::end_tile() {
  if (!tile_open_ || steps_left_ != 0) throw std::logic_error("PeArrayEngine: end_tile before all steps");
  tile_open_ = false;
  ++c_.tiles;
  undrained_.push_back({last_issue_, tile_.rows, tile_.cols, cur_set_, tile_.sparse});
  return last_issue_;
}

Cycle PeArrayEngine::drain_tile(Cycle out_ready) {
  if (undrained_.empty()) throw std::logic_error("PeArrayEngine: drain_tile with no tile ended");
  const Ended t = undrained_.front();
  undrained_.pop_front();
  Cycle d = t.last;
  DrainCause cause = DrainCause::kLastStep;
  if (p_.overlap_drain) {
    // The tile waits in its set for its output half, then for the column ports (d >= d_prev + Rt_prev).
    if (out_ready > d) d = out_ready, cause = DrainCause::kOutHalf;
    if (any_drain_ && prev_drain_ + prev_drain_rows_ > d)
      d = prev_drain_ + prev_drain_rows_, cause = DrainCause::kPorts;
  }
  // done = d + Rt + Ct + P - 1 (see the header).
  const Cycle done = d + t.rows + t.cols + p_.pipeline_depth(t.sparse) - 1;
  any_drain_ = true;
  prev_drain_ = d;
  prev_drain_rows_ = t.rows;
  prev_done_ = done;
  sets_[t.set] = {false, d + 1, cause};
  drained_set_ = t.set;
  return done;
}

void PeArrayEngine::accumulate(const Chunk& ch) {
  const std::uint32_t rt = tile_.rows, ct = tile_.cols;
  std::vector<std::int32_t>& acc = acc_[cur_set_];
  const std::int8_t* w = ch.values;
  std::size_t w_stride = ch.col_stride;
  std::uint32_t k_span = ch.slots;
  if (ch.index != nullptr) {
    // Sparse: the selectors route activation (q / n) * m + index[q] to slot q. Scattering each column's kept
    // weights into a zeroed dense column gives the same int32 sums (the added products are zero) and lets the
    // dense loop below run vectorised instead of gathering activations one by one.
    const std::uint32_t groups = ch.slots / ch.n;
    k_span = groups * ch.m;
    expanded_.assign(std::size_t{ct} * k_span, 0);
    for (std::uint32_t j = 0; j < ct; ++j) {
      const std::int8_t* v = ch.values + j * ch.col_stride;
      const std::uint8_t* idx = ch.index + j * ch.index_stride;
      std::int8_t* dst = expanded_.data() + std::size_t{j} * k_span;
      for (std::uint32_t q = 0; q < groups * ch.n; ++q) dst[(q / ch.n) * ch.m + idx[q]] = v[q];
    }
    w = expanded_.data();
    w_stride = k_span;
  }
  for (std::uint32_t i = 0; i < rt; ++i) {
    const std::int8_t* a = ch.act + i * ch.act_stride;
    std::int32_t* out = acc.data() + std::size_t{i} * ct;
    for (std::uint32_t j = 0; j < ct; ++j) {
      const std::int8_t* wj = w + j * w_stride;
      // The hot loop of every functional run; the compiler vectorises it.
      std::int32_t sum = 0;
      for (std::uint32_t q = 0; q < k_span; ++q) sum += std::int32_t{a[q]} * std::int32_t{wj[q]};
      out[j] += sum;
    }
  }
}

}  // namespace tacsim::pe_array
