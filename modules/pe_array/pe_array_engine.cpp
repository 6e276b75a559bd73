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

void PeArrayEngine::begin_tile(const TileShape& shape) {
  if (tile_open_) throw std::logic_error("PeArrayEngine: begin_tile with a tile open");
  if (shape.rows == 0 || shape.rows > p_.rows || shape.cols == 0 || shape.cols > p_.cols || shape.steps == 0)
    throw std::logic_error(fmt::format("PeArrayEngine: bad tile {}x{} with {} steps", shape.rows, shape.cols,
                                       shape.steps));
  tile_ = shape;
  steps_left_ = shape.steps;
  tile_open_ = true;
  first_chunk_ = true;
  acc_.assign(std::size_t{shape.rows} * shape.cols, 0);
}

Cycle PeArrayEngine::issue_chunk(Cycle ready, std::uint64_t slots, const Chunk* chunk, Cycle out_ready) {
  const std::uint64_t steps = steps_for(slots);
  if (!tile_open_ || steps == 0 || steps > steps_left_ || (chunk && chunk->slots != slots))
    throw std::logic_error("PeArrayEngine: issue_chunk outside a tile or beyond its steps");
  // The earliest cycle the array itself allows, before looking at operands. Stalls count from `allowed`, or
  // from when the array got work if it idled (idle_until).
  Cycle allowed = any_issue_ ? last_issue_ + 1 : 0;
  auto charge = [this](std::uint64_t& counter, Cycle from, Cycle to) {
    from = std::max(from, stall_floor_);
    if (to > from) counter += to - from;
  };
  if (first_chunk_ && any_tile_) {
    // Column-port rule: e >= e_prev + Rt_prev, enforced at the first step as first >= e_prev + Rt_prev - (S-1).
    const Cycle port_bound = prev_tile_last_ + prev_tile_rows_;
    if (port_bound > allowed + (tile_.steps - 1)) {
      const Cycle bound = port_bound - (tile_.steps - 1);
      charge(c_.drain_stall_cycles, allowed, bound);
      allowed = bound;
    }
    // A switch between sparse and dense mode changes the pipeline depth: the previous tile drains first.
    if (tile_.sparse != prev_tile_sparse_ && prev_tile_done_ > allowed) {
      charge(c_.drain_stall_cycles, allowed, prev_tile_done_);
      allowed = prev_tile_done_;
    }
  }
  if (!first_chunk_) out_ready = 0;
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
  prev_tile_last_ = last_issue_;
  prev_tile_rows_ = tile_.rows;
  prev_tile_sparse_ = tile_.sparse;
  any_tile_ = true;
  // done = e + Rt + Ct + P - 1 (see the header).
  prev_tile_done_ = last_issue_ + tile_.rows + tile_.cols + p_.pipeline_depth(tile_.sparse) - 1;
  return prev_tile_done_;
}

void PeArrayEngine::accumulate(const Chunk& ch) {
  const std::uint32_t rt = tile_.rows, ct = tile_.cols;
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
    std::int32_t* out = acc_.data() + std::size_t{i} * ct;
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
